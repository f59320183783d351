CREATE TABLE "provider_health" (
	"provider" text NOT NULL,
	"account" text NOT NULL,
	"state" text DEFAULT 'closed' NOT NULL,
	"failures" integer DEFAULT 0 NOT NULL,
	"window_started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"probe_at" timestamp with time zone,
	"reason" text,
	"changed_at" timestamp with time zone,
	"opens" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "provider_health_provider_account_pk" PRIMARY KEY("provider","account")
);
--> statement-breakpoint
ALTER TABLE "delivery_attempts" ADD COLUMN "routed_by" text;--> statement-breakpoint
ALTER TABLE "send_pace" ADD COLUMN "factor" double precision DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "send_pace" ADD COLUMN "slowed_at" double precision DEFAULT 0 NOT NULL;