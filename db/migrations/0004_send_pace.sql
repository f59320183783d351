CREATE TABLE "send_pace" (
	"account" text PRIMARY KEY NOT NULL,
	"next_at" double precision NOT NULL
);
