CREATE TABLE "attachments" (
	"message_id" text NOT NULL,
	"position" integer NOT NULL,
	"object_key" text NOT NULL,
	"filename" text NOT NULL,
	"content_type" text NOT NULL,
	"size" bigint NOT NULL,
	"sha256" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "delivery_attempts" (
	"message_id" text NOT NULL,
	"provider" text NOT NULL,
	"attempt" integer NOT NULL,
	"outcome" text NOT NULL,
	"provider_message_id" text,
	"error_code" text,
	"error_message" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "messages" (
	"id" text PRIMARY KEY NOT NULL,
	"api_key_id" text NOT NULL,
	"idempotency_key" text,
	"request_hash" text NOT NULL,
	"workflow_id" text NOT NULL,
	"from_address" text NOT NULL,
	"to_addresses" jsonb NOT NULL,
	"cc_addresses" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"bcc_addresses" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"reply_to" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"subject" text NOT NULL,
	"html" text,
	"text" text,
	"headers" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"tags" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"provider" text,
	"provider_message_id" text,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "attachments" ADD CONSTRAINT "attachments_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "delivery_attempts" ADD CONSTRAINT "delivery_attempts_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "attachments_message_position" ON "attachments" USING btree ("message_id","position");--> statement-breakpoint
CREATE UNIQUE INDEX "delivery_attempts_message_provider_attempt" ON "delivery_attempts" USING btree ("message_id","provider","attempt");--> statement-breakpoint
CREATE UNIQUE INDEX "messages_api_key_idempotency_key" ON "messages" USING btree ("api_key_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "messages_status_created_at" ON "messages" USING btree ("status","created_at");