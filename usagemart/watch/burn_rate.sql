-- Burn rate per cost kind and the month-end forecast at the month-to-date pace (the `burn_rate` view).
SELECT cost_kind, last_hour_usd, last_24h_usd, mtd_usd, month_end_forecast_usd
FROM burn_rate
ORDER BY cost_kind
