import { execFileSync } from 'node:child_process';

/**
 * A command in a pseudo-terminal: a private tmux server (its own socket, so no other tmux is
 * touched and the environment is exactly `env`), keys sent as a user types them, the screen read
 * back with `capture-pane`.
 */
export class TmuxSession {
  private readonly socket = `edgeport-test-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  private readonly name = 'test';

  constructor(command: string, env: NodeJS.ProcessEnv, cwd: string) {
    execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', 'new-session', '-d', '-s', this.name, '-x', '200', '-y', '60', command], { env, cwd });
  }

  private tmux(args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  /** The whole screen and scrollback as text. */
  screen(): string {
    return this.tmux(['capture-pane', '-p', '-J', '-t', this.name, '-S', '-500']);
  }

  /** Types `text` literally (no key names), then optionally Enter. */
  type(text: string, enter = true): void {
    this.tmux(['send-keys', '-t', this.name, '-l', text]);
    if (enter) this.key('Enter');
  }

  /** Sends tmux key names (`Down`, `Enter`, `C-c`). */
  key(...keys: string[]): void {
    this.tmux(['send-keys', '-t', this.name, ...keys]);
  }

  /** Polls the screen every 100 ms until `pattern` appears after `from` characters; fails with the screen after `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (pattern.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(pattern)} on the terminal:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  close(): void {
    try {
      this.tmux(['kill-server']);
    } catch {
      // already gone
    }
  }
}
