// proxy-addr ships no types and @types/proxy-addr is not installed: the part the library calls.
declare module 'proxy-addr' {
  import type { IncomingMessage } from 'node:http';
  type Trust = (addr: string, i: number) => boolean;
  function proxyaddr(req: IncomingMessage, trust: Trust): string;
  namespace proxyaddr {
    function compile(val: string | string[]): Trust;
  }
  export = proxyaddr;
}
