DROP INDEX "delivery_attempts_message_provider_attempt";--> statement-breakpoint
ALTER TABLE "delivery_attempts" ADD COLUMN "run_id" text DEFAULT '' NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "delivery_attempts_message_run_provider_attempt" ON "delivery_attempts" USING btree ("message_id","run_id","provider","attempt");