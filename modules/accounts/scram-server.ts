import { authMessage, parseClientFinal, parseClientFirst, serverFinalMessage, serverFirstMessage, sessionSecret, verifyProof } from './scram';

/**
 * The device's side of a SCRAM login (scram.ts), as one object: used at each login only, so on
 * Kaluma its code is read from the image's assets then (scram-code.ts).
 */
export const scramServer = {
  parseClientFirst: parseClientFirst,
  parseClientFinal: parseClientFinal,
  serverFirstMessage: serverFirstMessage,
  authMessage: authMessage,
  verifyProof: verifyProof,
  serverFinalMessage: serverFinalMessage,
  sessionSecret: sessionSecret,
};
