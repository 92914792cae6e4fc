import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../firmware/host/build';

/** Known-answer vectors shared by the crypto tests (host and engine). */

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
export const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Wycheproof vectors from ../shared/vectors (CI has ../shared beside the clone). */
export function wycheproof(file: string): any[] {
  const data = JSON.parse(readFileSync(join(ROOT, '..', 'shared', 'vectors', 'wycheproof', file), 'utf8'));
  return data.testGroups.flatMap((g: any) => g.tests.map((t: any) => ({ ...t, group: g })));
}

// FIPS 180-4 examples (NIST "Example Algorithms", SHA256.pdf) and the classic million-a message.
export const SHA256_KAT: [Uint8Array, string][] = [
  [ascii(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  [ascii('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  [ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  [ascii('abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu'), 'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1'],
  [new Uint8Array(1000000).fill(0x61), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
];

// RFC 4231 §4.2-4.8 (test case 5 is truncated to 128 bits).
export const RFC4231: [string, string, string, number?][] = [
  ['0b'.repeat(20), hex(ascii('Hi There')), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
  [hex(ascii('Jefe')), hex(ascii('what do ya want for nothing?')), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
  ['aa'.repeat(20), 'dd'.repeat(50), '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe'],
  ['0102030405060708090a0b0c0d0e0f10111213141516171819', 'cd'.repeat(50), '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b'],
  ['0c'.repeat(20), hex(ascii('Test With Truncation')), 'a3b6167473100ee06e0c796c2955552b', 16],
  ['aa'.repeat(131), hex(ascii('Test Using Larger Than Block-Size Key - Hash Key First')), '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54'],
  ['aa'.repeat(131), hex(ascii('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.')), '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2'],
];

// RFC 5869 Appendix A.1-A.3 (SHA-256 cases).
export const RFC5869: [string, string, string, number, string][] = [
  ['0b'.repeat(22), '000102030405060708090a0b0c', 'f0f1f2f3f4f5f6f7f8f9', 42, '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865'],
  [
    Array.from({ length: 80 }, (_, i) => i.toString(16).padStart(2, '0')).join(''),
    Array.from({ length: 80 }, (_, i) => (0x60 + i).toString(16).padStart(2, '0')).join(''),
    Array.from({ length: 80 }, (_, i) => (0xb0 + i).toString(16).padStart(2, '0')).join(''),
    82,
    'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87',
  ],
  ['0b'.repeat(22), '', '', 42, '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8'],
];

// RFC 7914 §11 (PBKDF2-HMAC-SHA256).
export const RFC7914: [string, string, number, number, string][] = [
  ['passwd', 'salt', 1, 64, '55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783'],
  ['Password', 'NaCl', 80000, 64, '4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d'],
];


// FIPS 197 Appendix C.1 and C.3 (AES-128, AES-256 cipher examples).
export const FIPS197: [string, string, string][] = [
  ['000102030405060708090a0b0c0d0e0f', '00112233445566778899aabbccddeeff', '69c4e0d86a7b0430d8cdb78070b4c55a'],
  ['000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', '00112233445566778899aabbccddeeff', '8ea2b7ca516745bfeafc49904b496089'],
];

// NIST SP 800-38A Appendix F.5.1 (CTR-AES128.Encrypt) and F.5.5 (CTR-AES256.Encrypt).
const SP800_38A_PLAIN = '6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710';
export const SP800_38A_CTR: [string, string, string, string][] = [
  ['2b7e151628aed2a6abf7158809cf4f3c', 'f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff', SP800_38A_PLAIN, '874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee'],
  ['603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4', 'f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff', SP800_38A_PLAIN, '601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c52b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6'],
];

// NIST SP 800-38C Appendix C, examples 1-3: key, nonce, associated data, payload, tag bytes, ciphertext ‖ tag.
export const SP800_38C: [string, string, string, string, number, string][] = [
  ['404142434445464748494a4b4c4d4e4f', '10111213141516', '0001020304050607', '20212223', 4, '7162015b4dac255d'],
  ['404142434445464748494a4b4c4d4e4f', '1011121314151617', '000102030405060708090a0b0c0d0e0f', '202122232425262728292a2b2c2d2e2f', 6, 'd2a1f0e051ea5f62081a7792073d593d1fc64fbfaccd'],
  ['404142434445464748494a4b4c4d4e4f', '101112131415161718191a1b', '000102030405060708090a0b0c0d0e0f10111213', '202122232425262728292a2b2c2d2e2f3031323334353637', 8, 'e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5484392fbc1b09951'],
];

/** NIST CAVP HMAC_DRBG (SHA-256) vectors as the hmac-drbg package ships them. */
export interface DrbgVector {
  name: string;
  entropy: string;
  nonce: string;
  pers: string | null;
  add: [string | null, string | null];
  expected: string;
}
export function drbgVectors(): DrbgVector[] {
  return JSON.parse(readFileSync(join(ROOT, 'node_modules/hmac-drbg/test/fixtures/hmac-drbg-nist.json'), 'utf8')) as DrbgVector[];
}

// RFC 8032 §7.1 (Ed25519): public key, message, signature of TEST 1, 2, 3, 1024 and SHA(abc).
export const ED25519_RFC8032: [string, string, string][] = [
  ['d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '', 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
  ['3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72', '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
  ['fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025', 'af82', '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'],
  ['278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e', 
    '08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d' +
    '658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e' +
    '06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1' +
    '85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270' +
    '88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba' +
    'b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7' +
    '51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df' +
    'f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4' +
    '88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f' +
    'b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d' +
    'b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0', '0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03'],
  ['ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf', 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f', 'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704'],
];
