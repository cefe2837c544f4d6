import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ShopError } from '@shoplab/chassis/errors';
import { becomesDefault, validAddress } from '../../src/domain/address';
import { ISO_COUNTRY_CODES, isIsoCountryCode } from '../../src/domain/countries';
import { normalizeEmail, validRegistration } from '../../src/domain/user';
import { isUuid, requireUuid } from '../../src/domain/validation';

/** The failing fields of a SHOP_VALIDATION_FAILED, sorted. */
function failingFields(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof ShopError);
    assert.equal(err.code, 'SHOP_VALIDATION_FAILED');
    return ((err.details?.errors ?? []) as { field: string }[]).map((e) => e.field).sort();
  }
  assert.fail('expected a validation error');
}

describe('registration rules', () => {
  test('emails are trimmed and lower-cased', () => {
    assert.equal(normalizeEmail('  Alice.Smith@Example.COM \n'), 'alice.smith@example.com');
  });

  test('a valid registration comes back normalized, password untouched', () => {
    assert.deepEqual(validRegistration({ email: ' A@B.io ', password: ' spaces count ', name: '  Ann  ' }), {
      email: 'a@b.io',
      password: ' spaces count ',
      name: 'Ann',
    });
  });

  test('every bad field is reported at once', () => {
    assert.deepEqual(
      failingFields(() => validRegistration({ email: 'no-at-sign', password: 'short', name: ' ' })),
      ['email', 'name', 'password'],
    );
  });

  test('passwords must be 8 to 128 characters', () => {
    const ok = (password: string) => validRegistration({ email: 'a@b.io', password, name: 'A' });
    assert.doesNotThrow(() => ok('x'.repeat(8)));
    assert.doesNotThrow(() => ok('x'.repeat(128)));
    assert.deepEqual(
      failingFields(() => ok('x'.repeat(7))),
      ['password'],
    );
    assert.deepEqual(
      failingFields(() => ok('x'.repeat(129))),
      ['password'],
    );
  });

  test('names are 1 to 100 characters without control characters', () => {
    const withName = (name: string) => () => validRegistration({ email: 'a@b.io', password: 'long enough', name });
    assert.doesNotThrow(withName('Zoë 李'));
    assert.doesNotThrow(withName('x'.repeat(100)));
    assert.deepEqual(failingFields(withName('x'.repeat(101))), ['name']);
    assert.deepEqual(failingFields(withName('Bobby\nTables')), ['name']);
  });

  test('emails need a local part, an @ and a dotted domain', () => {
    for (const email of ['a@b', '@b.io', 'a b@c.io', 'a@@b.io', 'a@b..io', `${'x'.repeat(250)}@b.io`]) {
      assert.deepEqual(
        failingFields(() => validRegistration({ email, password: 'long enough', name: 'A' })),
        ['email'],
        email,
      );
    }
  });
});

describe('address rules', () => {
  const berlin = { line1: 'Invalidenstraße 116', city: 'Berlin', postalCode: '10115', country: 'DE' };

  test('a valid address comes back trimmed, with an empty line2 dropped', () => {
    assert.deepEqual(validAddress({ ...berlin, line1: ` ${berlin.line1} `, line2: '   ' }), {
      ...berlin,
      line2: undefined,
    });
  });

  test('the country must be an upper-case ISO 3166-1 alpha-2 code', () => {
    for (const country of ['US', 'GB', 'DE', 'JP', 'BR'])
      assert.doesNotThrow(() => validAddress({ ...berlin, country }));
    for (const country of ['de', 'De', 'DEU', 'D', 'UK', 'ZZ', 'XK', 'EU', '']) {
      assert.deepEqual(
        failingFields(() => validAddress({ ...berlin, country })),
        ['country'],
        country,
      );
    }
  });

  test('the ISO list has the 249 assigned codes', () => {
    assert.equal(ISO_COUNTRY_CODES.size, 249);
    assert.ok(isIsoCountryCode('AX') && isIsoCountryCode('SS') && !isIsoCountryCode('AN'));
  });

  test('postal codes allow letters, digits, spaces and dashes', () => {
    for (const postalCode of ['10115', 'SW1A 2AA', '02-677', 'K1A 0B1']) {
      assert.doesNotThrow(() => validAddress({ ...berlin, postalCode }));
    }
    for (const postalCode of ['', '-123', '12#45', 'x'.repeat(21)]) {
      assert.deepEqual(
        failingFields(() => validAddress({ ...berlin, postalCode })),
        ['postalCode'],
        postalCode,
      );
    }
  });

  test('field names carry the prefix, and every bad field is listed', () => {
    assert.deepEqual(
      failingFields(() => validAddress({ line1: '', city: '', postalCode: '1', country: 'de' }, 'address.')),
      ['address.city', 'address.country', 'address.line1'],
    );
  });

  test("a user's first address is always the default; later ones only when asked", () => {
    assert.equal(becomesDefault(undefined, 0), true);
    assert.equal(becomesDefault(false, 0), true);
    assert.equal(becomesDefault(undefined, 2), false);
    assert.equal(becomesDefault(true, 2), true);
  });
});

describe('ids', () => {
  test('uuids of any version are accepted; anything else is a validation error', () => {
    assert.ok(isUuid('6f1c7d0e-3c1b-4f5e-9d2a-0b1c2d3e4f50'));
    assert.ok(!isUuid('6f1c7d0e3c1b4f5e9d2a0b1c2d3e4f50'));
    assert.equal(requireUuid('id', '6F1C7D0E-3C1B-4F5E-9D2A-0B1C2D3E4F50'), '6f1c7d0e-3c1b-4f5e-9d2a-0b1c2d3e4f50');
    assert.deepEqual(
      failingFields(() => requireUuid('id', 'nope')),
      ['id'],
    );
  });
});
