// The workflow bundle's entry: every workflow the worker registers.
export { sendEmail } from './send-email.js';
export { bulkSend } from './bulk-send.js';
export { repairQueuedSends } from './repair.js';
export { deliverWebhook } from './webhook-delivery.js';
