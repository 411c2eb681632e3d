// `shield-mcp hash-token`: reads a token on stdin and prints the SHA-256 that auth.tokens stores.
import { sha256Hex } from './bearer.js';

export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** The hash of the token in `input`, without the line ending an `echo` or a terminal adds. */
export function hashTokenInput(input: string): string {
  const token = input.replace(/\r?\n$/, '');
  if (token === '') throw new Error('no token on stdin');
  if (/\s/.test(token)) throw new Error('a token cannot contain whitespace');
  return sha256Hex(token);
}

export async function hashTokenCommand(): Promise<number> {
  let digest: string;
  try {
    digest = hashTokenInput(await readAll(process.stdin));
  } catch (err) {
    process.stderr.write(`shield-mcp hash-token: ${(err as Error).message}\n`);
    return 65;
  }
  process.stdout.write(`${digest}\n`);
  return 0;
}
