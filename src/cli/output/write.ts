import { CliError } from '../cli-error';
/**
 * Writes `chunk` and, when the stream's buffer is full, waits until it drains, so that a fast
 * reader never piles up output in memory faster than a slow file or pipe takes it.
 * @throws the stream's error when it fails (or is closed) before draining.
 */
export function writeChunk(stream: NodeJS.WritableStream, chunk: string): Promise<void> {
  if (stream.write(chunk)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      stream.removeListener('drain', onDrain);
      stream.removeListener('error', onError);
      stream.removeListener('close', onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onDrain = () => done();
    const onError = (error: Error) => done(error);
    const onClose = () => done(new CliError('the output was closed before everything was written'));
    stream.once('drain', onDrain);
    stream.once('error', onError);
    stream.once('close', onClose);
  });
}
