/**
 * WebSocket helpers shared by the objects that hold sockets (CampaignBoard's live feed, ZipArea's
 * officer presence). A hibernatable socket can be closing at any moment, so every send and close
 * here tolerates that instead of throwing into the handler that called it.
 */

/** Sends text; false when the socket is already closing (its close handler does the cleanup). */
export function sendText(ws: WebSocket, text: string): boolean {
  try {
    ws.send(text);
    return true;
  } catch {
    return false;
  }
}

/** Closes a socket that may already be closed. */
export function safeClose(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // Already closed.
  }
}

/**
 * Completes the closing handshake after the peer closed or dropped. The runtime reports 1005 (no
 * status), 1006 (abnormal drop) and 1015 (TLS failure), which no endpoint may send, so those are
 * answered with 1000; any other code is echoed.
 */
export function answerClose(ws: WebSocket, code: number, reason: string): void {
  safeClose(ws, isSendableCloseCode(code) ? code : 1000, reason);
}

/** Whether a close code may be sent in a close frame (RFC 6455 §7.4). */
export function isSendableCloseCode(code: number): boolean {
  return code === 1000 || (code >= 1001 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}
