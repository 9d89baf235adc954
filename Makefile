# The two set-up commands: `make demo` and `make test`. Both bootstrap what they need
# (virtualenv, Python packages, the Kafka jars from Maven Central) and are quick once done.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
KAFKA_LIBS := .cache/kafka-3.9.1/libs/.complete

.PHONY: demo test install kafka-jars down clean

demo: install kafka-jars
	$(BIN)/usagemart demo

test: install kafka-jars
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $@

kafka-jars: $(KAFKA_LIBS)

$(KAFKA_LIBS): streams/broker/pom.xml | $(INSTALLED)
	$(BIN)/python -c "from streams.broker.local_broker import ensure_jars; print(ensure_jars())"

down: install
	$(BIN)/usagemart down

clean:
	rm -rf $(VENV) .cache .usagemart .pytest_cache
