/* check
severity = "error"
description = "Every value of the column names a row of the model it refers to."
*/
SELECT {{ column }}, count() AS rows
FROM {{ model }}
WHERE {{ scope }}
  AND {{ column }} IS NOT NULL
  AND {{ column }} NOT IN (SELECT {{ to_column }} FROM {{ to_model }})
GROUP BY {{ column }}
