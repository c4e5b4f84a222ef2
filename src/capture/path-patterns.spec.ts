import { VersioningType } from '@nestjs/common';
import { compilePathPatterns, routePrefixesOf, unmatchablePathPatterns } from './path-patterns';

describe('compilePathPatterns', () => {
  it('matches nothing without patterns', () => {
    expect(compilePathPatterns([], 'api')('/api/health')).toBe(false);
  });

  it('matches exact strings, trailing-* prefixes and RegExps (no prefix)', () => {
    const excluded = compilePathPatterns(['/health', '/internal/*', /^\/metrics/]);
    expect(excluded('/health')).toBe(true);
    expect(excluded('/health/')).toBe(true);
    expect(excluded('/healthz')).toBe(false);
    expect(excluded('/internal/jobs/1')).toBe(true);
    expect(excluded('/internal')).toBe(false);
    expect(excluded('/metrics/prom')).toBe(true);
    expect(excluded('/users/1')).toBe(false);
  });

  it.each(['api/v1', '/api/v1', '/api/v1/', 'api/v1/'])(
    'matches a pattern with and without the global prefix %j',
    (prefix) => {
      const excluded = compilePathPatterns(['/health', '/internal/*', /^\/metrics$/], prefix);
      expect(excluded('/api/v1/health')).toBe(true);
      expect(excluded('/api/v1/health/')).toBe(true);
      expect(excluded('/health')).toBe(true);
      expect(excluded('/api/v1/internal/x')).toBe(true);
      expect(excluded('/api/v1/metrics')).toBe(true);
      expect(excluded('/api/v1/users')).toBe(false);
      expect(excluded('/api/v1health')).toBe(false);
      expect(excluded('/other/health')).toBe(false);
    },
  );

  it('still matches a pattern written with the prefix', () => {
    const excluded = compilePathPatterns(['/api/v1/health', /^\/api\/v1\/metrics/], 'api/v1');
    expect(excluded('/api/v1/health')).toBe(true);
    expect(excluded('/api/v1/metrics')).toBe(true);
    expect(excluded('/api/v1/users')).toBe(false);
  });

  it('matches the root of the prefix as "/"', () => {
    const excluded = compilePathPatterns(['/'], 'api');
    expect(excluded('/api')).toBe(true);
    expect(excluded('/api/')).toBe(true);
    expect(excluded('/api/users')).toBe(false);
  });

  it('matches with and without a URI version segment, after the global prefix', () => {
    const excluded = compilePathPatterns(['/health'], {
      globalPrefix: 'api',
      uriVersionPrefix: 'v',
    });
    expect(excluded('/api/v1/health')).toBe(true);
    expect(excluded('/api/v2.1/health')).toBe(true);
    expect(excluded('/v1/health')).toBe(true);
    expect(excluded('/api/health')).toBe(true);
    expect(excluded('/api/v1/users')).toBe(false);
    // Only a version that starts with a digit is a version segment.
    expect(excluded('/api/videos/health')).toBe(false);
  });

  it('drops the g and y flags, so a test never depends on the one before', () => {
    const excluded = compilePathPatterns([/health/g]);
    expect(excluded('/health')).toBe(true);
    expect(excluded('/health')).toBe(true);
  });

  it('treats special characters of the version prefix literally', () => {
    const excluded = compilePathPatterns(['/health'], { uriVersionPrefix: 'ver.' });
    expect(excluded('/ver.2/health')).toBe(true);
    expect(excluded('/verx2/health')).toBe(false);
  });
});

describe('routePrefixesOf', () => {
  it('reads the global prefix and the URI version prefix', () => {
    expect(
      routePrefixesOf({
        getGlobalPrefix: () => 'api',
        getVersioning: () => ({ type: VersioningType.URI }),
      }),
    ).toEqual({ globalPrefix: 'api', uriVersionPrefix: 'v' });
    expect(
      routePrefixesOf({
        getGlobalPrefix: () => '',
        getVersioning: () => ({ type: VersioningType.URI, prefix: 'version-' }),
      }),
    ).toEqual({ globalPrefix: '', uriVersionPrefix: 'version-' });
  });

  it('ignores header and media-type versioning, and a version without prefix', () => {
    expect(
      routePrefixesOf({
        getGlobalPrefix: () => 'api',
        getVersioning: () => ({ type: VersioningType.HEADER, header: 'X-Version' }),
      }),
    ).toEqual({ globalPrefix: 'api' });
    expect(
      routePrefixesOf({
        getGlobalPrefix: () => 'api',
        getVersioning: () => ({ type: VersioningType.URI, prefix: false }),
      }),
    ).toEqual({ globalPrefix: 'api' });
  });

  it('gives no prefix without a config', () => {
    expect(routePrefixesOf(undefined)).toEqual({});
  });
});

describe('unmatchablePathPatterns', () => {
  it('names patterns with a query string, a fragment or an inner *', () => {
    const messages = unmatchablePathPatterns([
      '/health',
      '/internal/*',
      /a\?b/,
      '/search?q=1',
      '/docs#top',
      '/users/*/avatar',
    ]);
    expect(messages).toHaveLength(3);
    expect(messages[0]).toContain('"/search?q=1" can never match');
    expect(messages[1]).toContain('"/docs#top" can never match');
    expect(messages[2]).toContain('"/users/*/avatar" can never match: only a trailing "*"');
  });
});
