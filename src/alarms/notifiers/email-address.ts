/**
 * E-mail addresses in channel configs: a pragmatic check that catches typos and header
 * injection; the SMTP server has the last word.
 */

const LOCAL_PART =
  /^(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+)*|"(?:[^"\\\r\n]|\\.)+")$/;
const DOMAIN =
  /^(?:[A-Za-z0-9\u0080-\uffff](?:[A-Za-z0-9\u0080-\uffff-]{0,61}[A-Za-z0-9\u0080-\uffff])?)(?:\.[A-Za-z0-9\u0080-\uffff](?:[A-Za-z0-9\u0080-\uffff-]{0,61}[A-Za-z0-9\u0080-\uffff])?)*$|^\[[0-9A-Fa-f:.]+\]$/;

/** Whether `address` is `user@domain` or `Display Name <user@domain>`. */
export function isValidEmailAddress(address: string): boolean {
  if (/[\r\n\0]/.test(address)) return false;
  const text = address.trim();
  const angle = /^(.*)<([^<>]+)>$/.exec(text);
  if (angle) {
    const name = (angle[1] ?? '').trim();
    if (name.includes('<') || name.includes('>')) return false;
    if (name.startsWith('"') !== name.endsWith('"')) return false;
  }
  const bare = (angle ? (angle[2] ?? '') : text).trim();
  const at = bare.lastIndexOf('@');
  if (at <= 0 || at === bare.length - 1 || bare.length > 254) return false;
  const local = bare.slice(0, at);
  const domain = bare.slice(at + 1);
  return local.length <= 64 && LOCAL_PART.test(local) && DOMAIN.test(domain);
}

/** Splits `a@x, "Doe, Jane" <b@y>` on the commas outside quotes and angle brackets. */
export function splitAddresses(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  let angle = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i] as string;
    if (char === '\\' && quoted) {
      current += char + (text[i + 1] ?? '');
      i += 1;
      continue;
    }
    if (char === '"') quoted = !quoted;
    else if (!quoted && char === '<') angle = true;
    else if (!quoted && char === '>') angle = false;
    if (char === ',' && !quoted && !angle) {
      out.push(current);
      current = '';
      continue;
    }
    current += char;
  }
  out.push(current);
  return out.map((part) => part.trim()).filter((part) => part !== '');
}
