/** The spellings a secret can leak in, to search outputs for: what a reviewer would grep for. */
export interface SecretForm {
  form: string;
  needle: string;
  /** Percent-encoded forms: hex digits may be in either case. */
  anyCase: boolean;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64').replace(/=+$/, '');

export function formsOf(secret: string, user?: string): SecretForm[] {
  const forms: SecretForm[] = [
    { form: 'raw', needle: secret, anyCase: false },
    { form: 'encodeURIComponent', needle: encodeURIComponent(secret), anyCase: true },
    { form: 'form-encoded', needle: new URLSearchParams([['x', secret]]).toString().slice(2), anyCase: true },
    { form: 'JSON-escaped', needle: JSON.stringify(secret).slice(1, -1), anyCase: false },
    { form: 'base64', needle: b64(secret), anyCase: false },
  ];
  if (user !== undefined) forms.push({ form: 'base64 user:password', needle: b64(`${user}:${secret}`), anyCase: false });
  return forms;
}

/** The forms found in a text, by name. */
export function leaks(text: string, forms: SecretForm[]): string[] {
  const lower = text.toLowerCase();
  return forms.filter((f) => (f.anyCase ? lower.includes(f.needle.toLowerCase()) : text.includes(f.needle))).map((f) => f.form);
}
