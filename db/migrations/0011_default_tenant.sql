-- Records belong to a tenant, no longer to an API key: every row so far was written with an
-- API_KEYS key's id (`key_<hex>`), and those keys are now the `default` tenant's.
-- Idempotency keys are unique per tenant: where two old keys used the same one, the oldest send
-- keeps it and each other one gets it prefixed with its old key id (`key_<hex>:<key>`), so every
-- row stays listed under the tenant and the migration cannot fail on a duplicate.
UPDATE "messages" m SET "idempotency_key" = m."api_key_id" || ':' || m."idempotency_key"
FROM (
  SELECT "id", row_number() OVER (PARTITION BY "idempotency_key" ORDER BY "created_at", "id") AS n
  FROM "messages" WHERE "api_key_id" LIKE 'key\_%' AND "idempotency_key" IS NOT NULL
) d
WHERE m."id" = d."id" AND d.n > 1;
--> statement-breakpoint
UPDATE "messages" SET "api_key_id" = 'default' WHERE "api_key_id" LIKE 'key\_%';
--> statement-breakpoint
UPDATE "bulks" b SET "idempotency_key" = b."api_key_id" || ':' || b."idempotency_key"
FROM (
  SELECT "id", row_number() OVER (PARTITION BY "idempotency_key" ORDER BY "created_at", "id") AS n
  FROM "bulks" WHERE "api_key_id" LIKE 'key\_%' AND "idempotency_key" IS NOT NULL
) d
WHERE b."id" = d."id" AND d.n > 1;
--> statement-breakpoint
UPDATE "bulks" SET "api_key_id" = 'default' WHERE "api_key_id" LIKE 'key\_%';
--> statement-breakpoint
-- An address suppressed by two old keys is one suppression of the tenant: the first one stays.
DELETE FROM "suppressions" s USING "suppressions" t
WHERE s."api_key_id" LIKE 'key\_%' AND t."api_key_id" LIKE 'key\_%' AND s."email" = t."email"
  AND (t."created_at", t."api_key_id") < (s."created_at", s."api_key_id");
--> statement-breakpoint
UPDATE "suppressions" SET "api_key_id" = 'default' WHERE "api_key_id" LIKE 'key\_%';
--> statement-breakpoint
UPDATE "webhook_endpoints" SET "api_key_id" = 'default' WHERE "api_key_id" LIKE 'key\_%';
--> statement-breakpoint
UPDATE "webhook_events" SET "api_key_id" = 'default' WHERE "api_key_id" LIKE 'key\_%';
