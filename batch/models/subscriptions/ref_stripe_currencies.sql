/* model
kind = "view"
description = """Static reference for Stripe amounts: every currency new subscriptions may be charged in, with \
minor_units (the decimal places of Stripe's smallest unit: 0 for Stripe's zero-decimal currencies BIF CLP DJF GNF \
JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF, 3 for its three-decimal currencies BHD JOD KWD OMR TND, 2 for the \
rest -- ISK, HUF and TWD included, which Stripe takes in two-decimal form) and usd_per_unit, a FIXED approximate \
USD rate as of 2026-01-01 (null where none is kept). The rates are for analytics, not accounting: revenue in the \
charge currency is exact, its USD value is indicative. Source: docs.stripe.com/currencies; update by editing this \
file. A currency missing here fails the relationship test of mart_new_subscriptions."""
*/
SELECT currency, minor_units, usd_per_unit
FROM VALUES(
    -- minor_units is Nullable so that a LEFT JOIN miss reads as null, not as 0 decimals.
    'currency String, minor_units Nullable(UInt8), usd_per_unit Nullable(Decimal(38, 10))',
    ('USD', 2, 1), ('EUR', 2, 1.17), ('GBP', 2, 1.34), ('CAD', 2, 0.73), ('AUD', 2, 0.66), ('NZD', 2, 0.58),
    ('CHF', 2, 1.26), ('SEK', 2, 0.108), ('NOK', 2, 0.099), ('DKK', 2, 0.157), ('PLN', 2, 0.275),
    ('CZK', 2, 0.048), ('HUF', 2, 0.0030), ('ISK', 2, 0.0080), ('BRL', 2, 0.18), ('MXN', 2, 0.055),
    ('INR', 2, 0.0111), ('SGD', 2, 0.78), ('HKD', 2, 0.128), ('CNY', 2, 0.14), ('TWD', 2, 0.032),
    ('JPY', 0, 0.0064), ('KRW', 0, 0.00069), ('CLP', 0, 0.00106), ('VND', 0, 0.000038), ('PYG', 0, 0.000127),
    ('UGX', 0, 0.00027), ('XAF', 0, 0.00178), ('XOF', 0, 0.00178), ('XPF', 0, 0.0098),
    ('BIF', 0, NULL), ('DJF', 0, NULL), ('GNF', 0, NULL), ('KMF', 0, NULL), ('MGA', 0, NULL), ('RWF', 0, NULL),
    ('VUV', 0, NULL),
    ('BHD', 3, 2.66), ('JOD', 3, 1.41), ('KWD', 3, 3.26), ('OMR', 3, 2.6), ('TND', 3, 0.34)
)
