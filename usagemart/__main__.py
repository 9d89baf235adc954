from usagemart.cli import app

app(prog_name="usagemart")
