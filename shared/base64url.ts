/**
 * base64url (RFC 4648 §5, unpadded) over bytes: voucher codes and page cursors, which travel in
 * paths and query strings where `+`, `/` and `=` would need escaping.
 */

/** The unpadded base64url text of `bytes`. */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * The bytes of base64url text, or undefined when it is not base64. Plain base64 (`+`, `/`, padding)
 * is read too, so text written by `btoa` still decodes.
 */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}
