import { actionLabel, actorLabel, fieldLabel, humanName, targetLabel } from './viewer-words';

describe('actionLabel', () => {
  it.each([
    ['user.update', 'Updated user'],
    ['users.update', 'Updated user'],
    ['user.create', 'Created user'],
    ['orders.delete', 'Deleted order'],
    ['addresses.patch', 'Updated address'],
    ['categories.create', 'Created category'],
    ['api-keys.create', 'Created API key'],
    ['apiKey.rotate', 'Rotated API key'],
    ['user.mfa.enable', 'Enabled user MFA'],
    ['invoice.void', 'Voided invoice'],
    ['audit.read', 'Viewed audit trail'],
    ['user.login', 'Signed in'],
    ['session.log-out', 'Signed out'],
    ['status.update', 'Updated status'],
    ['invoice.frobnicate', 'Invoice: frobnicate'],
    ['payment.chargeBack', 'Payment: charge back'],
    ['healthcheck', 'Healthcheck'],
    ['.update', 'Update'],
  ])('%s → %s', (action, label) => {
    expect(actionLabel(action)).toBe(label);
  });
});

describe('humanName and fieldLabel', () => {
  it('splits camelCase, snake_case and kebab-case and capitalises acronyms', () => {
    expect(humanName('phoneNumber')).toBe('phone number');
    expect(humanName('mfa_enabled')).toBe('MFA enabled');
    expect(humanName('HTTPServer')).toBe('http server');
    expect(humanName('ipAddress')).toBe('IP address');
    expect(humanName('***')).toBe('***');
  });

  it('labels a path from the root with separators', () => {
    expect(fieldLabel(['phone'])).toBe('Phone');
    expect(fieldLabel(['mfa', 'phone'])).toBe('MFA \u203a Phone');
    expect(fieldLabel(['billingAddress', 'zip_code'])).toBe('Billing address \u203a Zip code');
    expect(fieldLabel([])).toBe('Whole record');
  });
});

describe('actorLabel', () => {
  it('prefers the name and shows the id and e-mail as detail', () => {
    expect(
      actorLabel({ type: 'user', id: 'u-1', name: 'Ada', email: 'ada@x.io', authenticated: true }),
    ).toEqual({ name: 'Ada', detail: 'u-1 \u00b7 ada@x.io' });
    expect(actorLabel({ type: 'user', id: 'u-1', authenticated: true })).toEqual({ name: 'u-1' });
    expect(actorLabel({ type: 'user', email: 'a@x.io', id: 'u', authenticated: true })).toEqual({
      name: 'a@x.io',
      detail: 'u',
    });
  });

  it('names services, anonymous and unknown actors', () => {
    expect(
      actorLabel({ type: 'service', id: 'billing', name: 'billing', authenticated: false }),
    ).toEqual({ name: 'billing', detail: 'service' });
    expect(actorLabel({ type: 'anonymous', authenticated: false })).toEqual({ name: 'Anonymous' });
    expect(actorLabel({ type: 'user', authenticated: true })).toEqual({ name: 'Unknown' });
  });
});

describe('targetLabel', () => {
  it('shows type and id', () => {
    expect(targetLabel({ type: 'user', id: '42' })).toBe('user 42');
    expect(targetLabel({ type: 'settings' })).toBe('settings');
  });
});
