import { NotFoundException } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { AuditRouteResponder } from './audit-route-responder';

/** A stand-in for Nest's HTTP adapter that keeps what it was asked to send. */
class FakeAdapter {
  readonly replies: { body: unknown; status: number; headers: Record<string, string> }[] = [];
  headersSent = false;
  failNextReply = false;
  private headers: Record<string, string> = {};
  isHeadersSent(): boolean {
    return this.headersSent;
  }
  setHeader(_res: unknown, name: string, value: string): void {
    this.headers[name] = value;
  }
  reply(_res: unknown, body: unknown, status: number): void {
    if (this.failNextReply) {
      this.failNextReply = false;
      throw new Error('cannot serialise');
    }
    this.replies.push({ body, status, headers: this.headers });
    this.headers = {};
  }
  end(): void {
    throw new Error('a response this class answers is never ended from here');
  }
}

describe('AuditRouteResponder', () => {
  let adapter: FakeAdapter;
  let responder: AuditRouteResponder;
  const req = {};
  beforeEach(() => {
    adapter = new FakeAdapter();
    responder = new AuditRouteResponder({ httpAdapter: adapter } as unknown as HttpAdapterHost);
  });

  it('answers once: a second answer or error for the same response is dropped', () => {
    const res = {};
    expect(responder.send(res, { body: { items: [] }, headers: { 'X-A': '1' } })).toBe(true);
    expect(responder.send(res, { body: 'again' })).toBe(false);
    responder.sendError(req, res, new NotFoundException('late'));
    expect(adapter.replies).toEqual([
      { body: { items: [] }, status: 200, headers: { 'X-A': '1' } },
    ]);
    expect(responder.isAnswered(res)).toBe(true);
    expect(responder.isAnswered({})).toBe(false);
  });

  it("answers an error with Nest's standard body and status", () => {
    responder.sendError(req, {}, new NotFoundException('No audit event with id "x".'));
    expect(adapter.replies).toEqual([
      {
        body: { statusCode: 404, message: 'No audit event with id "x".', error: 'Not Found' },
        status: 404,
        headers: {},
      },
    ]);
  });

  it('does not answer a response whose headers someone else sent', () => {
    adapter.headersSent = true;
    expect(responder.send({}, { body: 'late' })).toBe(false);
    responder.sendError(req, {}, new Error('late'));
    expect(adapter.replies).toEqual([]);
  });

  it('lets the error be answered when writing the answer failed before anything was sent', async () => {
    const res = {};
    adapter.failNextReply = true;
    const failures: unknown[] = [];
    await responder.answer(
      res,
      () => Promise.resolve({ body: { cyclic: true } }),
      (error) => {
        failures.push(error);
        responder.sendError(req, res, new NotFoundException('instead'));
      },
    );
    expect(failures).toEqual([new Error('cannot serialise')]);
    expect(adapter.replies.map((r) => r.status)).toEqual([404]);
  });

  it('gives an error of the work to fail, and answers nothing itself', async () => {
    const failures: unknown[] = [];
    await responder.answer(
      {},
      () => Promise.reject(new Error('store down')),
      (error) => failures.push(error),
    );
    expect(failures).toEqual([new Error('store down')]);
    expect(adapter.replies).toEqual([]);
  });
});
