/* model
kind = "table"
description = """The AI tools: a closed domain. cost_model says how the vendor bills: Cursor by seat plus \
usage beyond the plan, Claude Code by usage, the Anthropic API by tokens."""
grain = ["platform"]

[tests]
not_null = ["platform", "vendor", "cost_model"]
*/
SELECT *
FROM VALUES('platform String, platform_name String, vendor String, cost_model String, cost_model_detail String',
    ('cursor', 'Cursor', 'Anysphere', 'seat+usage', 'Per-seat subscription with included requests; usage-based beyond'),
    ('claude_code', 'Claude Code', 'Anthropic', 'usage', 'Per-use cost of the tokens its sessions consume'),
    ('anthropic_api', 'Anthropic API', 'Anthropic', 'tokens', 'Per million tokens by model, tier and token type'))
