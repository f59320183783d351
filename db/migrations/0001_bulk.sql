CREATE TABLE "bulk_attachments" (
	"bulk_id" text NOT NULL,
	"position" integer NOT NULL,
	"object_key" text NOT NULL,
	"filename" text NOT NULL,
	"content_type" text NOT NULL,
	"size" bigint NOT NULL,
	"sha256" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "bulk_recipients" (
	"bulk_id" text NOT NULL,
	"seq" integer NOT NULL,
	"email" text NOT NULL,
	"name" text,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"provider" text,
	"provider_message_id" text,
	"error" text,
	"updated_at" timestamp with time zone,
	CONSTRAINT "bulk_recipients_bulk_id_seq_pk" PRIMARY KEY("bulk_id","seq")
);
--> statement-breakpoint
CREATE TABLE "bulks" (
	"id" text PRIMARY KEY NOT NULL,
	"api_key_id" text NOT NULL,
	"idempotency_key" text,
	"request_hash" text NOT NULL,
	"workflow_id" text NOT NULL,
	"from_address" text NOT NULL,
	"reply_to" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"subject" text NOT NULL,
	"html" text,
	"text" text,
	"headers" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"total" integer NOT NULL,
	"rate_per_second" integer,
	"status" text DEFAULT 'queued' NOT NULL,
	"status_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "bulk_attachments" ADD CONSTRAINT "bulk_attachments_bulk_id_bulks_id_fk" FOREIGN KEY ("bulk_id") REFERENCES "public"."bulks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "bulk_recipients" ADD CONSTRAINT "bulk_recipients_bulk_id_bulks_id_fk" FOREIGN KEY ("bulk_id") REFERENCES "public"."bulks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "bulk_attachments_bulk_position" ON "bulk_attachments" USING btree ("bulk_id","position");--> statement-breakpoint
CREATE UNIQUE INDEX "bulk_recipients_bulk_email" ON "bulk_recipients" USING btree ("bulk_id","email");--> statement-breakpoint
CREATE INDEX "bulk_recipients_bulk_status_seq" ON "bulk_recipients" USING btree ("bulk_id","status","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "bulks_api_key_idempotency_key" ON "bulks" USING btree ("api_key_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "bulks_status_created_at" ON "bulks" USING btree ("status","created_at");