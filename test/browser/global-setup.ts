import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Where Debian's chromium package puts the browser the viewer test drives. */
export const CHROMIUM = '/usr/bin/chromium';

function apt(args: string[]): void {
  execFileSync('apt-get', args, {
    stdio: 'pipe',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeout: 600_000,
  });
}

/**
 * Makes sure Debian's Chromium is installed before the browser tests run, so that `npm test`
 * works on a fresh machine without a manual step. Browser downloads by test tools do not work
 * here (no network but the npm registry and Debian's packages), hence the Debian package.
 */
export default function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const manual = `Install it with: apt-get install -y chromium`;
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    throw new Error(
      `browser tests: Chromium is missing at ${CHROMIUM} and this process cannot install it (not root on Linux). ${manual}`,
    );
  }
  try {
    try {
      apt(['install', '-y', 'chromium']);
    } catch {
      // A fresh machine may have no package lists yet.
      apt(['update']);
      apt(['install', '-y', 'chromium']);
    }
  } catch (error) {
    const output = error as { stderr?: Buffer; message: string };
    throw new Error(
      `browser tests: installing Chromium failed (${output.stderr?.toString().trim().split('\n').pop() ?? output.message}). ${manual}`,
    );
  }
  if (!existsSync(CHROMIUM)) {
    throw new Error(`browser tests: apt-get finished but ${CHROMIUM} is missing. ${manual}`);
  }
}
