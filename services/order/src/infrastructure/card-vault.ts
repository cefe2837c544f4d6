// AES-256-GCM for the card between checkout and the saga's Authorize step. The order id is the
// additional authenticated data, so a sealed card moved to another order does not open. The
// request fingerprint uses a subkey derived with HKDF, so the encryption key is used for one
// purpose only.
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { ShopError } from '@shoplab/chassis';
import type { CardVault, SealedCard } from '../application/ports';
import type { Card } from '../domain/checkout-request';

const IV_BYTES = 12;

export class AesGcmCardVault implements CardVault {
  readonly keyId: string;
  private readonly fingerprintKey: Buffer;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('CARD_ENCRYPTION_KEY must be 32 bytes');
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 8);
    this.fingerprintKey = Buffer.from(
      hkdfSync('sha256', key, Buffer.alloc(0), 'shoplab-order/request-fingerprint', 32),
    );
  }

  seal(orderId: string, card: Card): SealedCard {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(orderId, 'utf8'));
    const plaintext = Buffer.from(JSON.stringify(card), 'utf8');
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    plaintext.fill(0);
    return { keyId: this.keyId, iv, ciphertext, authTag: cipher.getAuthTag() };
  }

  open(orderId: string, sealed: SealedCard): Card {
    if (sealed.keyId !== this.keyId) {
      throw new ShopError(
        'SHOP_INTERNAL',
        `The card of order ${orderId} was sealed with another key (${sealed.keyId})`,
      );
    }
    const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.iv);
    decipher.setAAD(Buffer.from(orderId, 'utf8'));
    decipher.setAuthTag(sealed.authTag);
    const plaintext = Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
    return JSON.parse(plaintext.toString('utf8')) as Card;
  }

  fingerprint(canonicalRequest: string): string {
    return createHmac('sha256', this.fingerprintKey).update(canonicalRequest, 'utf8').digest('hex');
  }
}
