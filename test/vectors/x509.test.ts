import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex } from '../../protocol/bytes.ts';
import { encodeWrapFile, decodeWrapFile } from '../../protocol/dkek/wrap-file.ts';
import { decodeX509 } from '../../protocol/dkek/x509.ts';

// Self-signed test certificates made for this project with OpenSSL 3 (`openssl req -x509 -newkey
// ec -pkeyopt ec_paramgen_curve:P-256 -subj "/O=hsm-ceremony test/CN=k1 test"`, and rsa:1024
// with "/CN=r1 rsa/emailAddress=x@example.org"). Independent of our DER code.
const EC_CERT = new Uint8Array(Buffer.from('MIIBszCCAVmgAwIBAgIUSOUKNfnkHmAiWdEzbU1oOQyRygEwCgYIKoZIzj0EAwIwLjEaMBgGA1UECgwRaHNtLWNlcmVtb255IHRlc3QxEDAOBgNVBAMMB2sxIHRlc3QwIBcNMjYxMTI4MDUyNzU5WhgPMjEyNjExMDQwNTI3NTlaMC4xGjAYBgNVBAoMEWhzbS1jZXJlbW9ueSB0ZXN0MRAwDgYDVQQDDAdrMSB0ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEOPD6d1dX8/YZKktsJwwSAw5vCkEwGIUaCiIbWBmD3mWAi4Iv9/t31TAt/2YsjTcpHdBqPe98TwX3YER9mwX0OqNTMFEwHQYDVR0OBBYEFHw7vbx8dLGQJQ3dw+FQJw/g9uxXMB8GA1UdIwQYMBaAFHw7vbx8dLGQJQ3dw+FQJw/g9uxXMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAKOWWIDPqS0eKu7fl1Q4TEyGUbkqz2eRdvRcrtkDoPLGAiBThl5eJZYEdk5N6dL868IBt8wR01pjkxTTpOTY5+dDDQ==', 'base64'));
const RSA_CERT = new Uint8Array(Buffer.from('MIICPDCCAaWgAwIBAgIUVUOrxdXi9tD5x39XP3mkNraRZjEwDQYJKoZIhvcNAQELBQAwLzEPMA0GA1UEAwwGcjEgcnNhMRwwGgYJKoZIhvcNAQkBFg14QGV4YW1wbGUub3JnMCAXDTI2MTEyODA1Mjc1OVoYDzIxMjYxMTA0MDUyNzU5WjAvMQ8wDQYDVQQDDAZyMSByc2ExHDAaBgkqhkiG9w0BCQEWDXhAZXhhbXBsZS5vcmcwgZ8wDQYJKoZIhvcNAQEBBQADgY0AMIGJAoGBAKgziy8KoGoHJPM9a5OvXAhTO8hHbgzZyM6y9oEDrHug6TV4jcQgctLPfsgZMrBLkpGjjqjO1JpIR+J7qXxsGpyhUImDX4S0/l+CKCzETKjdCLGqDxRzeqgMCBjPTz+rk2zzozFIvfNqeKXaCO2Ff3RbKJZaFzDXDq96G9siIeG3AgMBAAGjUzBRMB0GA1UdDgQWBBQ4seQRJyHBfzA6OSuuxNCzIePTITAfBgNVHSMEGDAWgBQ4seQRJyHBfzA6OSuuxNCzIePTITAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUAA4GBAA4rwHQawrC41HPNDhmWuS1C0NupI/5VlBGEop3ij04oTuh+lyNxMkdBoeS3dYXlU9kGvDOqPqpz8nisbalqcV9EG/37fsjDIMx18m4QkeFjyyUXIQBFt41EiK7jN/58CiiHOLtUwJi6Ivg3zaow3+S4dx2m7m3MdpXPLabo+o2F', 'base64'));

test('EC P-256 certificate: subject CN, issuer CN, curve', () => {
  const s = decodeX509(EC_CERT);
  assert.equal(s.subjectCn, 'k1 test');
  assert.equal(s.issuerCn, 'k1 test');
  assert.equal(s.keyType, 'ec');
  assert.equal(s.curve, 'P-256');
  assert.equal(s.keyBits, 256);
  assert.equal(s.keyAlgorithm, '1.2.840.10045.2.1');
  assert.match(s.notBefore!, /^\d{12}Z$/);
  assert.match(s.notAfter!, /^\d{14}Z$/, 'GeneralizedTime after 2049');
  assert.equal(s.serialHex.length, 40);
});

test('RSA certificate: CN among other attributes, modulus size', () => {
  const s = decodeX509(RSA_CERT);
  assert.equal(s.subjectCn, 'r1 rsa');
  assert.equal(s.keyType, 'rsa');
  assert.equal(s.keyBits, 1024);
  assert.equal(s.curve, undefined);
});

test('an X.509 certificate travels through a wrap file verbatim', () => {
  const prkd = fromHex('a003300100');
  const w = decodeWrapFile(encodeWrapFile({ blob: fromHex('01'), prkd, certificate: EC_CERT }));
  assert.deepEqual(w.warnings, []);
  assert.equal(decodeX509(w.certificate!).subjectCn, 'k1 test');
});

test('malformed → X509_MALFORMED', () => {
  for (const bad of [EC_CERT.subarray(0, 50), fromHex('0400'), fromHex('30023000'), fromHex('3000')]) {
    assert.throws(() => decodeX509(bad), (e: unknown) => (e as { code: string }).code === 'X509_MALFORMED');
  }
});
