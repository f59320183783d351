ALTER TABLE "bulks" ADD COLUMN "scheduled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "bulks" ADD COLUMN "not_after" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "scheduled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "not_after" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "bulks_api_key_created_at" ON "bulks" USING btree ("api_key_id","created_at","id");--> statement-breakpoint
CREATE INDEX "messages_api_key_created_at" ON "messages" USING btree ("api_key_id","created_at","id");