/* check
severity = "error"
description = "No two rows share the grain."
*/
SELECT {{ columns }}, count() AS copies
FROM {{ model }}
WHERE {{ scope }}
GROUP BY {{ columns }}
HAVING copies > 1
