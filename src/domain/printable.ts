/**
 * Attacker-chosen text (credentials, commands, client versions, URLs: all of it comes from
 * honeypot logs) as it is safe to print on a user's terminal: control characters (terminal
 * escape sequences, NULs, bells, carriage returns) are written as \xHH instead of being sent
 * to the terminal. JSON output needs none of this: JSON.stringify escapes them itself.
 */
export const printable = (text: string): string =>
  // eslint-disable-next-line no-control-regex
  text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)
