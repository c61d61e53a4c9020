/**
 * Text that may hold a URL with credentials, as it may be printed: the userinfo of every
 * `scheme://user:secret@` in it becomes `***@`, whatever the scheme's case (`HTTPS://`, `s3://`)
 * and wherever it stands (after a space, inside a sentence); so do a SAS token's signature
 * (`sig=…`, Azure) and a connection string's `AccountKey=…`. Everything that prints an endpoint
 * or a target the user typed goes through this. Imports nothing.
 */
export function redactUrl(text: string): string {
  // Up to the last '@' before a space: a secret may hold '/', '+' or ':' unencoded (AWS secrets do),
  // and showing less of a host is better than showing any of a secret.
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s@]*@/gi, '$1***@')
    .replace(/([?&]sig=)[^&\s#]*/gi, '$1***')
    .replace(/(AccountKey=)[^;\s]*/gi, '$1***')
}
