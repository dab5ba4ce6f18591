import cliProgress from 'cli-progress';
import type { DownloadProgress } from '../download.js';
import { colorsFor, formatBytes, formatDuration, isInteractive } from './terminal.js';

/**
 * Shows a download's progress on stderr: a bar with bytes, rate and ETA when the size is known,
 * else bytes and rate; while an export job runs, its entries when it reports them. Nothing but
 * a final line when stderr is not a terminal or NO_COLOR is set.
 */
export class DownloadBar {
  private readonly interactive = isInteractive(process.stderr);
  private bar: cliProgress.SingleBar | undefined;
  private started = 0;
  private total: number | undefined;
  private phase: DownloadProgress['phase'] | undefined;
  private lastDraw = 0;

  update(progress: DownloadProgress): void {
    if (progress.phase !== this.phase) this.enter(progress);
    if (!this.bar) return;
    const now = Date.now();
    // Redrawing on every chunk costs more than the download; a few times a second is enough.
    if (now - this.lastDraw < 100 && progress.bytes !== progress.totalBytes) return;
    this.lastDraw = now;
    if (progress.phase === 'waiting') {
      const entries =
        progress.entries === undefined
          ? ''
          : `${progress.entries}${progress.totalEntries ? `/${progress.totalEntries}` : ''} entries, `;
      this.bar.update(progress.entries ?? 0, {
        detail: `${entries}${formatDuration((now - this.started) / 1000)}`,
      });
      return;
    }
    const elapsed = Math.max(0.001, (now - this.started) / 1000);
    const rate = progress.bytes / elapsed;
    const eta = this.total ? (this.total - progress.bytes) / Math.max(rate, 1) : Number.NaN;
    this.bar.update(progress.bytes, {
      done: formatBytes(progress.bytes),
      size: this.total ? formatBytes(this.total) : '?',
      rate: `${formatBytes(rate)}/s`,
      remaining: this.total ? formatDuration(eta) : '?',
    });
  }

  private enter(progress: DownloadProgress): void {
    this.stop();
    this.phase = progress.phase;
    this.started = Date.now();
    this.total = progress.totalBytes;
    const c = colorsFor(process.stderr);
    if (!this.interactive) {
      if (progress.phase === 'waiting') process.stderr.write(`Export job ${progress.jobId ?? ''} running…\n`);
      return;
    }
    const format =
      progress.phase === 'waiting'
        ? `${c.cyan('export job')} ${progress.jobId ?? ''} {bar} {detail}`
        : this.total
          ? `${c.cyan('downloading')} {bar} {percentage}% | {done}/{size} | {rate} | ETA {remaining}`
          : `${c.cyan('downloading')} {done} | {rate}`;
    this.bar = new cliProgress.SingleBar(
      {
        format,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: false,
        barsize: 30,
        noTTYOutput: false,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
    const total = progress.phase === 'waiting' ? (progress.totalEntries ?? 0) : (this.total ?? 0);
    this.bar.start(total, 0, { detail: '', done: '0 B', size: '?', rate: '?', remaining: '?' });
  }

  /** Stops drawing (the bar stays on screen). */
  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

/** Shows a purge job's deleted count on stderr while it runs. */
export class PurgeSpinner {
  private readonly interactive = isInteractive(process.stderr);
  private drawn = false;

  update(state: { jobId: string | undefined; status: string; deleted: number }): void {
    if (!this.interactive) return;
    const c = colorsFor(process.stderr);
    process.stderr.write(
      `\r\x1b[2K${c.cyan('purge')} ${state.jobId ?? ''} ${state.status}: ${state.deleted} entries deleted`,
    );
    this.drawn = true;
  }

  stop(): void {
    if (this.drawn) process.stderr.write('\n');
    this.drawn = false;
  }
}
