/* check
severity = "error"
description = "The column is never null."
*/
SELECT *
FROM {{ model }}
WHERE {{ column }} IS NULL
  AND {{ scope }}
