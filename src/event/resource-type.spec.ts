import { resourceTypeOf } from './resource-type';

describe('resourceTypeOf', () => {
  it.each([
    ['Order', 'order'],
    ['OrderItem', 'order_item'],
    ['orderItem', 'order_item'],
    ['order_item', 'order_item'],
    ['orders', 'order'],
    ['Orders', 'order'],
    ['order-items', 'order_item'],
    ['order_items', 'order_item'],
    ['ORDER_ITEMS', 'order_item'],
    ['OrderItems', 'order_item'],
    ['categories', 'category'],
    ['addresses', 'address'],
    ['address', 'address'],
    ['status', 'status'],
    ['statuses', 'status'],
    ['news', 'news'],
    ['series', 'series'],
    ['people', 'person'],
    ['boxes', 'box'],
    ['branches', 'branch'],
    ['caches', 'cache'],
    ['movies', 'movie'],
    ['keys', 'key'],
    ['api-keys', 'api_key'],
    ['APIKeys', 'api_key'],
    ['APIs', 'api'],
    ['userURLs', 'user_url'],
    ['analysis', 'analysis'],
    ['archives', 'archive'],
    ['warehouses', 'warehouse'],
    ['databases', 'database'],
    ['sms', 'sms'],
    ['AuditDNS', 'audit_dns'],
    ['user-profile.settings', 'user_profile_setting'],
    ['v2Orders', 'v2_order'],
  ])('%s -> %s', (name, expected) => {
    expect(resourceTypeOf(name)).toBe(expected);
  });

  it('changes only the last word: a qualifier in the plural stays', () => {
    expect(resourceTypeOf('news-items')).toBe('news_item');
    expect(resourceTypeOf('SalesOrder')).toBe('sales_order');
  });

  it('is idempotent: a resource type it made maps to itself', () => {
    const names = [
      'OrderItems',
      'categories',
      'addresses',
      'statuses',
      'people',
      'caches',
      'quizzes',
    ];
    for (const name of names) {
      const once = resourceTypeOf(name);
      expect(resourceTypeOf(once)).toBe(once);
    }
  });

  it('gives the same type to an entity class and to its controller path', () => {
    expect(resourceTypeOf('OrderItem')).toBe(resourceTypeOf('order-items'));
    expect(resourceTypeOf('Category')).toBe(resourceTypeOf('categories'));
  });

  it('returns an empty string for a name without letters or digits', () => {
    expect(resourceTypeOf('')).toBe('');
    expect(resourceTypeOf('--')).toBe('');
  });
});
