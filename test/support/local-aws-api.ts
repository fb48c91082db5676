/**
 * A local stand-in for an AWS endpoint (STS, Lambda, EC2, the pre-signed
 * response URL): a subclass's `answer` gets each request with its whole body.
 */
import * as http from 'http';
import { AddressInfo } from 'net';
import { HOST } from './local-server';

export abstract class LocalApi {
  private readonly server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', chunk => chunks.push(chunk));
    request.on('end', () => this.answer(request, Buffer.concat(chunks), response));
  });

  async endpoint(): Promise<string> {
    await new Promise<void>(resolve => this.server.listen(0, HOST, resolve));
    return `http://${HOST}:${(this.server.address() as AddressInfo).port}`;
  }

  /** Stops listening and drops the connections still open (a request left unanswered on purpose). */
  stop(): Promise<void> {
    return new Promise(resolve => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  protected abstract answer(request: http.IncomingMessage, body: Buffer, response: http.ServerResponse): void;
}
