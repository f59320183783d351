// Loaded by path (the SDK require()s it in the client and the worker, and bundles it into the
// workflow code), hence plain CommonJS: failure messages and stack traces go into the encoded
// attributes, so the payload codec encrypts them with everything else. An activity's error text
// can carry an address (an SMTP reply names the recipient it refused).
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
