CREATE TABLE "provider_events" (
	"sns_message_id" text PRIMARY KEY NOT NULL,
	"provider_message_id" text NOT NULL,
	"message_id" text,
	"bulk_id" text,
	"seq" integer,
	"type" text NOT NULL,
	"subtype" text,
	"occurred_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"details" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "suppressions" (
	"api_key_id" text NOT NULL,
	"email" text NOT NULL,
	"reason" text NOT NULL,
	"source" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "suppressions_api_key_id_email_pk" PRIMARY KEY("api_key_id","email")
);
--> statement-breakpoint
ALTER TABLE "bulks" ADD COLUMN "breaker_seq" integer;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "suppressed_recipients" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "provider_events" ADD CONSTRAINT "provider_events_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "provider_events" ADD CONSTRAINT "provider_events_bulk_id_bulks_id_fk" FOREIGN KEY ("bulk_id") REFERENCES "public"."bulks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "provider_events_provider_message_id" ON "provider_events" USING btree ("provider_message_id");--> statement-breakpoint
CREATE INDEX "provider_events_message_id" ON "provider_events" USING btree ("message_id","occurred_at");--> statement-breakpoint
CREATE INDEX "provider_events_bulk_seq" ON "provider_events" USING btree ("bulk_id","seq");--> statement-breakpoint
CREATE INDEX "suppressions_api_key_created_at" ON "suppressions" USING btree ("api_key_id","created_at","email");--> statement-breakpoint
CREATE INDEX "bulk_recipients_provider_message_id" ON "bulk_recipients" USING btree ("provider_message_id");--> statement-breakpoint
CREATE INDEX "messages_provider_message_id" ON "messages" USING btree ("provider_message_id");