/* model
kind = "table"
description = """One row per support ticket (stg_tickets) with its customer (segment, city, clv from \
stg_helpdesk_customers) and product (name, category, type from stg_helpdesk_products; product_category 'unknown' \
when the product is not known), and the calendar of its creation (date, year, quarter, month). is_open = not \
is_resolved; is_high_severity = severity 'high' or 'critical'."""
grain = ["ticket_id"]

[tests]
not_null = ["ticket_id", "created_date", "product_category"]
*/
SELECT
    tickets.ticket_id AS ticket_id,
    tickets.customer_id AS customer_id,
    customers.segment AS customer_segment,
    customers.city AS customer_city,
    customers.clv AS customer_clv,
    tickets.product_id AS product_id,
    products.product_name AS product_name,
    ifNull(products.product_category, 'unknown') AS product_category,
    products.product_type AS product_type,
    tickets.category AS category,
    tickets.root_cause AS root_cause,
    tickets.severity AS severity,
    tickets.severity IN ('high', 'critical') AS is_high_severity,
    tickets.channel AS channel,
    tickets.status AS status,
    tickets.is_resolved AS is_resolved,
    NOT tickets.is_resolved AS is_open,
    tickets.created_at AS created_at,
    toDate(tickets.created_at) AS created_date,
    toYear(tickets.created_at) AS created_year,
    toQuarter(tickets.created_at) AS created_quarter,
    toMonth(tickets.created_at) AS created_month,
    tickets.resolved_at AS resolved_at,
    tickets.resolution_hours AS resolution_hours,
    tickets.resolution_speed AS resolution_speed,
    tickets.satisfaction_score AS satisfaction_score,
    tickets.satisfaction_level AS satisfaction_level,
    tickets.app_version AS app_version,
    tickets.subject AS subject
FROM stg_tickets AS tickets
LEFT JOIN stg_helpdesk_customers AS customers ON customers.customer_id = tickets.customer_id
LEFT JOIN stg_helpdesk_products AS products ON products.product_id = tickets.product_id
