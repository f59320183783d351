ALTER TABLE "bulk_recipients" ADD COLUMN "smtp_attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "bulk_recipients" ADD COLUMN "lease" text;--> statement-breakpoint
ALTER TABLE "bulk_recipients" ADD COLUMN "unknown_outcomes" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "delivery_attempts" ADD COLUMN "rejected_recipients" jsonb;