/**
 * The ★1 criteria (JC-STAR, S1.1-01 … S1.1-16) mapped to what meets them in the kit: the modules and
 * the image's configuration, the code, the tests that prove it, the documents, and the check of
 * `hoshi conform` that observes it on a live unit. One mapping feeds the checklist draft
 * (`hoshi evidence`), docs/star1.md and the traceability test (test/star1.test.ts), which fails when
 * a file, a symbol or a test named here no longer exists.
 */

import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A verdict in the manner of ETSI TS 103 701. */
export type Verdict = 'pass' | 'fail' | 'not-applicable' | 'needs-human';

/** Text in both languages of the checklist (Japanese in the terms of the IPA documents). */
export interface Text {
  ja: string;
  en: string;
}

/** The checks of `hoshi conform` (firmware/host/conform.ts), each observing one or more criteria. */
export const CONFORM_CHECKS = {
  info: ['S1.1-10', 'S1.1-06'],
  'auth-required': ['S1.1-01'],
  'default-password': ['S1.1-02'],
  'password-change': ['S1.1-03'],
  'brute-force': ['S1.1-04'],
  update: ['S1.1-06', 'S1.1-08', 'S1.1-14'],
  channel: ['S1.1-12'],
  interfaces: ['S1.1-13'],
  wipe: ['S1.1-15'],
} as const;
export type ConformCheckId = keyof typeof CONFORM_CHECKS;

export interface Criterion {
  /** 'S1.1-01' … 'S1.1-16'. */
  id: string;
  /** The criterion, short (ja: the wording of the IPA criteria table, ../shared/seeds/003). */
  title: Text;
  /** How ★1 judges it: document review, a test of the unit, or both. */
  judgedBy: 'doc' | 'device' | 'doc/device' | 'doc+scan';
  /** The ETSI EN 303 645 provisions it harmonises with. */
  en303645: string[];
  /** The conformity claim the checklist makes for an image built with the kit. */
  claim: Text;
  /** How the kit meets it: the mechanism in a sentence or two. */
  how: Text;
  /** The modules that meet it ('modules/accounts', 'firmware/device/core/bootctl.ts' …). */
  modules: string[];
  /** The image configuration fields it depends on (keys of examples/<x>/image.ts's config). */
  config: string[];
  /** Code that meets it: a file of the repository and, where one is meant, a symbol defined there. */
  code: { file: string; symbol?: string }[];
  /**
   * Tests that prove it: a test file and the exact title of a test in it (a title in back quotes as
   * the source writes it, `${…}` placeholders included: `testTitles`).
   */
  tests: { file: string; title: string }[];
  /** Documents of the repository that describe it (paths). */
  docs: string[];
  /** The `hoshi conform` checks that observe it on a unit (none for criteria judged on documents only). */
  conform: ConformCheckId[];
  /** Documents the vendor must write or fill (`hoshi evidence` drafts them), if any. */
  vendorDocuments?: ('vulnerability-disclosure' | 'update-policy' | 'user-information')[];
}

/** One check's result in a `hoshi conform` report. */
export interface ConformCheck {
  id: ConformCheckId;
  criteria: string[];
  title: string;
  verdict: Verdict;
  /** Why this verdict, in a sentence. */
  reason: string;
  /** What the probe saw: requests and answers (status, headers, bodies cut to a bound), timings. */
  evidence: unknown[];
}

/** What `hoshi conform` saves (JSON; and rendered as Markdown). */
export interface ConformReport {
  tool: 'hoshi conform';
  kitVersion: string;
  target: string;
  started: string;
  finished: string;
  /** Requests the probe made, in all (bounded). */
  requests: number;
  /** The unit's public information as the probe first read it. */
  device: Record<string, unknown> | null;
  checks: ConformCheck[];
}

/** The sixteen criteria, in the order of the IPA criteria table. */
export const CRITERIA: Criterion[] = [
  {
    id: 'S1.1-01',
    title: {
      ja: 'IoT製品に対するIP通信を介した守るべき情報資産への他のIoT機器又はユーザからのアクセスに対して、適切な認証に基づくアクセス制御が行われていること。',
      en: 'Access to protected assets over IP requires authentication-based access control',
    },
    judgedBy: 'doc',
    en303645: ['5.5-4', '5.5-5'],
    claim: {
      ja: 'IP通信を介した守るべき情報資産（ネットワーク機能及びセキュリティ機能の設定、製品が扱うデータ）へのアクセスは、SCRAM-SHA-256による管理者の認証を経た場合にのみ許可する。認証なしに応答するのは、イメージが公開と宣言した情報（機器情報等）のみである。',
      en: 'Access over IP to the protected assets (the settings of the network and security functions, the product\'s data) is granted only after the administrator has authenticated with SCRAM-SHA-256; without authentication the unit answers only what the image declares public, such as its device information.',
    },
    how: {
      ja: 'すべてのHTTPルートはアクセスレベル（public、user、admin）を宣言する。ルータはリクエストの本文を読む前にヘッダ部で判定し、public以外のルートは、modules/accountsのアクセスガードが許可した場合にのみ処理する。ガードは、SCRAM-SHA-256ログインで確立した有効なセッションと、そのセッションの管理チャネルで保護されたリクエストを要求する。ガードを持たないイメージでは、public以外のすべてのルートを401で拒否する。',
      en: 'Every HTTP route declares its access level (public, user, admin). The router decides from the request head, before any of the body is read: a public route is served, any other only if the access guard of modules/accounts grants it, which requires a live session from a SCRAM-SHA-256 login and a request protected by that session\'s admin channel. An image without the guard refuses every non-public route with 401.',
    },
    modules: ['firmware/device/router.ts', 'firmware/device/core/module.ts', 'modules/accounts'],
    config: [],
    code: [
      { file: 'firmware/host/conform.ts', symbol: 'checkAuthRequired' },
      { file: 'firmware/device/router.ts', symbol: 'routeRequest' },
      { file: 'firmware/device/core/module.ts', symbol: 'Access' },
      { file: 'firmware/device/core/module.ts', symbol: 'Guard' },
      { file: 'modules/accounts/index.ts', symbol: 'accounts' },
    ],
    tests: [
      { file: 'test/accounts-http.test.ts', title: 'over HTTP: every non-public route of both examples answers 401 with WWW-Authenticate and Cache-Control: no-store without a session' },
      { file: 'test/accounts.test.ts', title: 'every non-public route refuses no session, a forged token, an expired session and a logged-out one (the whole table)' },
      { file: 'test/channel-http.test.ts', title: 'every non-public route of both examples refuses a plain request with a valid token (channel-required); public routes stay plain' },
      { file: 'test/examples.test.ts', title: 'smart-plug: the relay is an output driven low at boot; its state is public, changing it is refused without admin' },
      { file: 'test/conform.test.ts', title: 'the smart plug after its first-use change passes every check; the report, as JSON and Markdown, holds no password or key' },
      { file: 'test/conform.test.ts', title: 'an image without the accounts module, whose product opened its control to work at all, fails auth-required; the login checks do not apply' },
    ],
    docs: ['docs/accounts.md', 'docs/architecture.md', 'docs/evaluators.md'],
    conform: ['auth-required'],
  },
  {
    id: 'S1.1-02',
    title: {
      ja: 'デフォルトパスワードが使用される場合に、①IoT機器毎に異なる一意の値で、容易に推測可能でない6文字以上のパスワードであること、又は②初回起動時にユーザによるパスワード変更を必須とし、8文字以上のパスワードの設定を強制させること。',
      en: 'A default password is unique per unit and not guessable (6+ characters), or must be changed at first use to one of 8+ characters',
    },
    judgedBy: 'doc',
    en303645: ['5.1-1', '5.1-2'],
    claim: {
      ja: '①・②の両方を満たす。デフォルトパスワードはIoT機器毎に異なる12文字の乱数値であり、かつ、デフォルトパスワードが有効な間は、他の操作に先立って8文字以上の新しいパスワードの設定を必須とする。',
      en: 'Both options are met: each unit\'s default password is a unique random value of 12 characters, and while it is in force the administrator must set a new password of at least 8 characters before anything else.',
    },
    how: {
      ja: 'hoshi provisionは、プロビジョニング用ホストの暗号論的擬似乱数生成器（CSPRNG）から、紛らわしい文字を除いた31文字の字母による12文字（約59ビット）のデフォルトパスワードを機器毎に生成し、シリアル番号、MACアドレス、カウンタ等からは導出しない。機器には、セットアップキーで前処理したパスワードのSCRAM-SHA-256検証子（PBKDF2 100,000回）とHMACによる照合値のみをプロビジョニングレコードとして書き込み、パスワード自体はラベルにのみ印字する。デフォルトパスワードが有効な間（forceChange、既定で有効）、セッションはパスワード変更、セッション状態の確認及びログアウトにのみアクセスできる。新しいパスワードは8文字以上（イメージはより長い最小長を指定できるが、短くはできない）でなければならず、よく使われるパスワード、同一文字や連続した文字の並び、型番・シリアル番号・製造業者名を含むもの、及びデフォルトパスワードと同一のものは拒否する。',
      en: 'hoshi provision draws each unit\'s default password from the provisioning host\'s CSPRNG: 12 characters of a 31-character unambiguous alphabet by rejection sampling (about 59 bits), nothing derived from the serial, a MAC address or a counter. The unit receives only its SCRAM-SHA-256 verifier (over the password pre-hashed with the unit\'s setup key, 100,000 PBKDF2 iterations) and an HMAC check value in its provisioning record; the password itself is printed on the label only. While the default is in force (forceChange, on by default) a session reaches only the password change, its own state and logout. The new password must have at least 8 characters (an image may ask more, never less) and is refused if it is common, repetitive or sequential, contains the model, serial or vendor, or is the default.',
    },
    modules: ['firmware/host/provision.ts', 'firmware/host/labels.ts', 'firmware/device/core/provisioning.ts', 'modules/accounts'],
    config: ['model', 'vendor'],
    code: [
      { file: 'firmware/host/conform.ts', symbol: 'checkDefaultPassword' },
      { file: 'firmware/host/provision.ts', symbol: 'defaultPassword' },
      { file: 'firmware/host/provision.ts', symbol: 'PASSWORD_ALPHABET' },
      { file: 'firmware/host/provision.ts', symbol: 'newProvisioningRecord' },
      { file: 'firmware/host/provision.ts', symbol: 'defaultPasswordCheck' },
      { file: 'firmware/host/labels.ts', symbol: 'unitLabel' },
      { file: 'firmware/device/core/provisioning.ts', symbol: 'parseProvisioning' },
      { file: 'modules/accounts/index.ts', symbol: 'accounts' },
      { file: 'modules/accounts/policy.ts', symbol: 'checkPassword' },
      { file: 'modules/accounts/password-check.ts', symbol: 'passwordChange' },
    ],
    tests: [
      { file: 'test/provisioning.test.ts', title: 'default passwords: 12 characters of an unambiguous alphabet, uniform, at least 55 bits' },
      { file: 'test/provisioning.test.ts', title: 'the default password is not derived from the serial: the same serial gives other passwords and keys' },
      { file: 'test/provisioning.test.ts', title: 'the verifier is SCRAM-SHA-256 of the default password pre-hashed with the setup key: node:crypto agrees with modules/accounts/scram.ts on jsCrypto' },
      { file: 'test/labels.test.ts', title: 'hoshi provision --out writes the label record beside the record (mode 0600); the password is nowhere else' },
      { file: 'test/accounts.test.ts', title: 'the label password logs in, the device proves itself, and only the change of password is reachable until it is made' },
      { file: 'test/accounts.test.ts', title: 'every policy refusal has its rule and reason, and nothing is stored' },
      { file: 'test/browser.test.ts', title: 'first use in Chromium: setup URL, label password, forced change, Wi-Fi, relay, log out' },
      { file: 'test/conform.test.ts', title: 'the smart plug after its first-use change passes every check; the report, as JSON and Markdown, holds no password or key' },
      { file: 'test/conform.test.ts', title: 'a unit in its first-use state: the label\'s password reaches only the change (pass, said so); the password change needs a person' },
    ],
    docs: ['docs/accounts.md', 'docs/formats/provisioning.md'],
    conform: ['default-password'],
  },
  {
    id: 'S1.1-03',
    title: {
      ja: 'IoT製品に対するネットワークを介したユーザ認証において使用される認証値の変更について、認証の種類（パスワード、トークン、指紋等）に依らず、その認証値の変更を可能とすること。',
      en: 'Authentication values of network user authentication can be changed, whatever their kind',
    },
    judgedBy: 'doc',
    en303645: ['5.1-4'],
    claim: {
      ja: 'ネットワークを介したユーザ認証の認証値である管理者パスワードは、管理者がネットワーク経由でいつでも変更できる。変更後は旧パスワードでの認証は失敗し、新パスワードでの認証が成功する。',
      en: 'The administrator password, the authentication value of the network login, can be changed by the administrator over the network at any time; afterwards the old password fails and the new one works.',
    },
    how: {
      ja: 'POST /api/password（admin、管理チャネル経由）は、クライアント（hoshi password、管理ページ）が作成した新しいパスワードとそのSCRAM検証子を受け取る。機器はパスワードをポリシーで、検証子を値の範囲で検査し、検証子を1回のストア書込みで暗号化して保存する（停電後も旧値又は新値のいずれかが残る）。変更時には既存のすべてのセッションを終了する。なお、ログインに組み込まれる機器固有のセットアップキーは、工場で設定されラベルに印字される値であり、ユーザによる変更の対象としていない。',
      en: 'POST /api/password (admin, through the admin channel) takes the new password and its SCRAM verifier, made by the client (hoshi password, the admin page). The device checks the password against the policy and the verifier against its bounds, stores the verifier sealed in one store write (old or new after a power cut, never neither) and ends every session. The unit\'s setup key, which the login also mixes in, is a factory value printed on the label and is not changed by the user.',
    },
    modules: ['modules/accounts', 'firmware/host/client.ts', 'modules/admin-page'],
    config: [],
    code: [
      { file: 'firmware/host/conform.ts', symbol: 'checkPasswordChange' },
      { file: 'modules/accounts/index.ts', symbol: 'accounts' },
      { file: 'modules/accounts/index.ts', symbol: 'encodeVerifier' },
      { file: 'modules/accounts/password-check.ts', symbol: 'passwordChange' },
      { file: 'modules/accounts/scram.ts', symbol: 'scramVerifier' },
      { file: 'firmware/host/client.ts', symbol: 'changePassword' },
    ],
    tests: [
      { file: 'test/accounts.test.ts', title: 'after a change the old password fails, the new one works, and every earlier session is gone' },
      { file: 'test/accounts.test.ts', title: 'a power cut at every flash operation of a password change leaves the old password or the new one' },
      { file: 'test/client.test.ts', title: 'changePassword: the device gets the new password and its verifier through the channel; the new password logs in, the old does not' },
      { file: 'test/client.test.ts', title: 'hoshi password: checks the policy here first, then logs in and sets the new password through the channel' },
      { file: 'test/conform.test.ts', title: 'the smart plug after its first-use change passes every check; the report, as JSON and Markdown, holds no password or key' },
    ],
    docs: ['docs/accounts.md'],
    conform: ['password-change'],
  },
  {
    id: 'S1.1-04',
    title: {
      ja: 'IoT機器が、制約のある機器ではない場合、IoT機器に対するネットワークを介したユーザ認証の仕組みについて、総当たり攻撃を困難とすること。',
      en: 'Network user authentication resists brute force',
    },
    judgedBy: 'device',
    en303645: ['5.1-5'],
    claim: {
      ja: 'ネットワークを介した認証の失敗が続くと、送信元アドレス毎及び機器全体で、待ち時間の付与とロックアウトにより認証試行を制限する。失敗回数は再起動や停電の後も維持され、ロックアウトは最長1時間で自動的に解除される。',
      en: 'Repeated failed logins over the network are slowed and then locked out, per source address and for the whole device; the count survives reboots and power cuts, and a lockout ends by itself within an hour, so the owner is never locked out for good.',
    },
    how: {
      ja: '証明値を検証するログインは、検証の前に失敗としてストア（予約済みキーacct.fails）に計数し、成功時にリセットする。3回連続で失敗すると次の試行まで2秒待たせ、64秒まで倍増させた後、5分から1時間を上限として倍増するロックアウトとし、429応答とRetry-Afterヘッダで通知する。送信元アドレス毎の計数（RAM）と機器全体の計数（ストアに保存し、7回遅れで同じ段階を適用）を併用し、長い方の待ち時間を適用する。再起動は現在の待ち時間を最初から数え直し、工場出荷時データ消去でも計数は維持する。ボタンを持つボードでは3秒間の長押しで解除できる。1,000回の推測には約41日を要する。',
      en: 'Each login whose proof is to be checked is counted as a failure in the store (acct.fails, a reserved key) before the proof is computed, and reset by a success. After 3 failures in a row the next attempt waits 2 s, doubling to 64 s, then lockouts from 5 minutes doubling to a cap of one hour, answered 429 with Retry-After. A per-source count (RAM) and a device-wide count (stored, on the same schedule 7 failures later) apply, the longer wait winning. A reboot restarts the current wait, a factory wipe keeps the count, and a button held 3 s clears it where the board has one. 1,000 guesses take about 41 days.',
    },
    modules: ['modules/accounts', 'firmware/host/bruteforce.ts'],
    config: [],
    code: [
      { file: 'firmware/host/conform.ts', symbol: 'checkBruteForce' },
      { file: 'modules/accounts/lockout.ts', symbol: 'lockWait' },
      { file: 'modules/accounts/lockout.ts', symbol: 'Lock' },
      { file: 'modules/accounts/index.ts', symbol: 'FAILS_KEY' },
      { file: 'modules/accounts/scram-server.ts', symbol: 'login' },
      { file: 'firmware/host/bruteforce.ts', symbol: 'bruteForce' },
    ],
    tests: [
      { file: 'test/accounts.test.ts', title: 'the lockout schedule: free, then doubling delays, then lockouts up to an hour' },
      { file: 'test/accounts.test.ts', title: 'a brute force of 1,000 guesses from one source is slowed and locked as documented; the right password works once the lockout ends' },
      { file: 'test/accounts.test.ts', title: 'an attacker rotating addresses is held by the device-wide count; the owner at another address is slowed only after it' },
      { file: 'test/accounts.test.ts', title: 'without source addresses (Kaluma on a Pico W reports 0.0.0.0) the device-wide count follows the per-source schedule' },
      { file: 'test/accounts.test.ts', title: 'the failure count survives a reboot, and a reboot restarts the current wait instead of ending it' },
      { file: 'test/accounts.test.ts', title: 'a power cut at every flash operation of a failed login never lowers the failure count, and the proof is never checked uncounted' },
      { file: 'test/accounts.test.ts', title: 'holding the clear button for 3 s while the device runs ends every lockout; a short press does not' },
      { file: 'test/accounts-http.test.ts', title: 'over HTTP: three wrong guesses, then 429 with Retry-After; the label password once the wait is over, then the forced change' },
      { file: 'test/client.test.ts', title: 'bruteForce: bounded attempts, each with its status and Retry-After; stops at a guess that logs in; without the setup key no guess can' },
      { file: 'test/conform.test.ts', title: 'the smart plug after its first-use change passes every check; the report, as JSON and Markdown, holds no password or key' },
    ],
    docs: ['docs/accounts.md', 'docs/evaluators.md'],
    conform: ['brute-force'],
  },
  {
    id: 'S1.1-05',
    title: {
      ja: '製造業者は、①報告のための連絡先、②報告受領後に行う手続き及びその概要、③脆弱性が解決されるまでの状況更新に関する手続き及びその概要のすべてを含む脆弱性開示ポリシーを公開すること。',
      en: 'A vulnerability disclosure policy is published: contact, handling of reports, status updates until fixed',
    },
    judgedBy: 'doc',
    en303645: ['5.2-1'],
    claim: {
      ja: '製造業者は、報告のための連絡先、報告受領後の手続き、及び脆弱性が解決されるまでの状況更新の手続きを含む脆弱性開示ポリシーを公開する。各機器は、その公開場所を示す。',
      en: 'The manufacturer publishes a vulnerability disclosure policy with a contact for reports, what happens after a report, and how the status is updated until a fix; each unit shows where it is published.',
    },
    how: {
      ja: 'イメージの設定に脆弱性開示ポリシーのURL（vulnerabilityDisclosureUrl、ビルド時にhttps://のURLであることを検査）を記載する。認証不要のGET /api/infoはこれをvulnerabilityDisclosureとして示し、管理ページは「Report a vulnerability」のリンクとして表示する。ポリシー自体は製造業者が作成する文書である。',
      en: 'The image\'s configuration names the policy\'s URL (vulnerabilityDisclosureUrl, an https:// URL, checked when the image is built); GET /api/info, public, shows it as vulnerabilityDisclosure, and the admin page links it as "Report a vulnerability". The policy itself is the manufacturer\'s document.',
    },
    modules: ['modules/device-info', 'modules/admin-page', 'firmware/device/image.ts'],
    config: ['vulnerabilityDisclosureUrl'],
    code: [
      { file: 'firmware/host/vendor-docs.ts', symbol: 'disclosurePolicy' },
      { file: 'firmware/device/core/module.ts', symbol: 'ImageConfig' },
      { file: 'firmware/device/image.ts', symbol: 'checkImage' },
      { file: 'modules/device-info/index.ts', symbol: 'deviceInfo' },
      { file: 'modules/admin-page/page.html' },
    ],
    tests: [
      { file: 'test/device-info.test.ts', title: '${example} on the host simulator: /api/info shows the configuration\'s model, hardware revision, version, support end and disclosure URL, and the record\'s counter' },
      { file: 'test/image.test.ts', title: 'defineImage refuses a bad configuration on the host, naming the field' },
      { file: 'test/evidence.test.ts', title: 'smart plug: the three vendor documents in both languages, from the configuration and the manifest\'s metadata' },
    ],
    docs: [],
    conform: [],
    vendorDocuments: ['vulnerability-disclosure'],
  },
  {
    id: 'S1.1-06',
    title: {
      ja: 'IoT製品のファームウェア（ソフトウェア）パッケージについて、①アップデートが可能であること、②バージョンの確認が行えるなど、最新のファームウェアがインストールされていることを確認する手段を有すること、③アップデートされたバージョンが電源OFF後も維持されること。',
      en: 'Firmware can be updated, the installed version can be checked, and the updated version persists after power-off',
    },
    judgedBy: 'doc/device',
    en303645: ['5.3-1', '5.3-2', '5.3-16'],
    claim: {
      ja: 'アプリケーションイメージは署名付きパッケージによりアップデートできる。インストールされているファームウェアのバージョンは認証なしに確認でき、インストールされたアップデートは電源OFFや再起動の後も維持される。',
      en: 'The application image can be updated with signed packages; the installed firmware version can be checked without login; an installed update stays installed across power-off and restarts.',
    },
    how: {
      ja: 'modules/otaは、署名付きパッケージ（管理者によるアップロード、又は製造業者のリリースURLからの取得）をA/B方式の非アクティブなスロットに受信して検証し、新しいスロットで試行起動する。新しいイメージは応答可能になった時点で、ブート制御レコードの1回の書込みにより確定し、そのスロットをアクティブにするとともにセキュリティカウンタの下限を引き上げる。ローダは電源投入の都度アクティブなスロットを起動する。GET /api/info及び管理ページはfirmwareVersion（イメージの設定）とセキュリティカウンタを示し、新しくないバージョンのパッケージは拒否する（version-not-newer）。',
      en: 'modules/ota receives a signed package (an administrator\'s upload, or a pull from the manufacturer\'s release URL) into the inactive A/B slot, verifies it and restarts the unit on the new slot on trial; the new image confirms once it serves, in one write of the boot control record that makes its slot the active one and raises the security counter floor. The loader boots the active slot at every power-on. GET /api/info and the admin page show firmwareVersion (the image\'s configuration) and the security counter; a package that is not newer is refused (version-not-newer).',
    },
    modules: ['modules/ota', 'firmware/device/core/bootctl.ts', 'firmware/device/loader.ts', 'modules/device-info'],
    config: ['firmwareVersion'],
    code: [
      { file: 'firmware/host/conform.ts', symbol: 'checkUpdate' },
      { file: 'modules/ota/index.ts', symbol: 'ota' },
      { file: 'modules/ota/worker.ts', symbol: 'createWorker' },
      { file: 'firmware/device/core/bootctl.ts', symbol: 'BootRecord' },
      { file: 'firmware/device/core/bootctl.ts', symbol: 'writeBootRecord' },
      { file: 'firmware/device/loader.ts', symbol: 'runLoader' },
      { file: 'modules/device-info/index.ts', symbol: 'deviceInfo' },
      { file: 'firmware/host/update-client.ts', symbol: 'updateDevice' },
    ],
    tests: [
      { file: 'test/ota.test.ts', title: 'a signed update is uploaded, verified, booted on trial, confirmed, and kept across restarts (S1.1-06, -08, -14)' },
      { file: 'test/ota-pull.test.ts', title: 'a unit configured with a release URL checks it on schedule, installs the newer version and comes back on it (S1.1-06)' },
      { file: 'test/device-info.test.ts', title: '${example} on the host simulator: /api/info shows the configuration\'s model, hardware revision, version, support end and disclosure URL, and the record\'s counter' },
      { file: 'test/loader.test.ts', title: 'trial: no tries left → bad (trial-crashed when no trial boot reached its deadline, else not-confirmed), the active slot boots' },
      { file: 'test/simulator-slots.test.ts', title: 'a host slot-app payload in slot B boots on trial; confirmed, it stays; a new start leaves it running' },
      { file: 'test/conform.test.ts', title: 'the smart plug after its first-use change passes every check; the report, as JSON and Markdown, holds no password or key' },
    ],
    docs: ['docs/formats/update.md', 'docs/security.md', 'docs/evaluators.md'],
    conform: ['info', 'update'],
  },
  {
    id: 'S1.1-07',
    title: {
      ja: 'ユーザがアップデートを適用する際、容易かつ分かりやすい手順でソフトウェアのアップデートを実行可能とすること。',
      en: 'Users can apply updates by an easy, clear procedure',
    },
    judgedBy: 'doc',
    en303645: ['5.3-3'],
    claim: {
      ja: 'ユーザは、管理ページの「Upload and install」、hoshi updateコマンド1回、又は自動アップデートのいずれか1つの手順でアップデートを適用でき、進捗と結果が分かりやすく示される。',
      en: 'The user applies an update in one step, with its progress and a plain result shown: the admin page\'s "Upload and install", one hoshi update command, or automatically.',
    },
    how: {
      ja: '管理ページの「Firmware update」は、.hoshiパッケージを分割してアップロードし、検証と再起動を追跡して、バージョンが変わったこと、又はパッケージが拒否された理由（拒否ごとにコードと理由がある）を表示する。hoshi updateはコマンドラインから同じ処理を進捗バー付きで行う。リリースURL（ota({releaseUrl})、又は所有者がhoshi pullで設定）がある場合、機器は1日毎に確認し、所有者が無効にしない限り新しいパッケージを自動でインストールする。',
      en: 'The admin page\'s "Firmware update" uploads a .hoshi package in chunks, follows the unit through verification and restart, and says whether the version changed or why the package was refused (each refusal has a code and a reason). hoshi update does the same from the command line with a progress bar. With a release URL (ota({releaseUrl}), or the owner\'s setting through hoshi pull) the unit checks once a day and installs a newer package by itself unless the owner turns that off.',
    },
    modules: ['modules/admin-page', 'modules/ota', 'firmware/host/update-client.ts', 'firmware/host/cli.ts'],
    config: [],
    code: [
      { file: 'modules/admin-page/page.ts', symbol: 'sendPackage' },
      { file: 'modules/admin-page/page.ts', symbol: 'describeUpdate' },
      { file: 'modules/admin-page/page.html' },
      { file: 'firmware/host/update-client.ts', symbol: 'updateDevice' },
      { file: 'firmware/host/cli.ts', symbol: 'updateCommand' },
      { file: 'firmware/host/cli.ts', symbol: 'pullCommand' },
      { file: 'modules/ota/pull.ts', symbol: 'pullCheck' },
      { file: 'modules/ota/pull.ts', symbol: 'pullSettings' },
    ],
    tests: [
      { file: 'test/browser.test.ts', title: 'a firmware update in Chromium: a refused package shows its code and reason, a crashing one is reverted, a good one changes the version' },
      { file: 'test/admin-page.test.ts', title: 'sendPackage uploads a package into the inactive slot through the device\'s routes, and the install restarts it' },
      { file: 'test/admin-page.test.ts', title: 'describeUpdate and refusalText: any JSON the device sends gives one line, never an exception' },
      { file: 'test/ota-pull.test.ts', title: 'a unit configured with a release URL checks it on schedule, installs the newer version and comes back on it (S1.1-06)' },
      { file: 'test/ota-pull.test.ts', title: 'opt-out: with automatic installs off, the unit fetches nothing on its schedule; turned on, it installs' },
      { file: 'test/cli.test.ts', title: 'hoshi pull: the release URL and automatic installs read and set through the admin channel; --check asks for a check at once; usage errors' },
    ],
    docs: ['docs/formats/update.md', 'docs/evaluators.md'],
    conform: [],
  },
  {
    id: 'S1.1-08',
    title: {
      ja: 'ソフトウェアをネットワーク経由でアップデートする際、ソフトウェアの完全性をアップデート前に確認できる仕組みを有すること。',
      en: 'The integrity of software updated over the network is checked before the update is applied',
    },
    judgedBy: 'doc/device',
    en303645: ['5.3-9', '5.3-10'],
    claim: {
      ja: 'ネットワーク経由で受信したアップデートは、機器が信頼する鍵によるEd25519署名とSHA-256ダイジェストを検証した後にのみ適用する。改ざんされたもの、信頼しない鍵で署名されたもの、他製品向けのもの及び古いバージョンのものは、動作中のイメージを変更することなく拒否する。',
      en: 'An update received over the network is applied only after its Ed25519 signature, by a key the unit trusts, and its SHA-256 digest are verified; tampered, wrongly signed, foreign and older packages are refused and the running image is left unchanged.',
    },
    how: {
      ja: 'パッケージは、製造業者、型番、ランタイム、ボード、バージョン、セキュリティカウンタ、サイズ及びペイロードのSHA-256を記載したマニフェストに対するCOSE_Sign1（Ed25519）である。機器は何も書き込む前にヘッダ部を検査し（厳格なCBOR、信頼済みかつ失効していない鍵ID、自機の製造業者・型番・ランタイム・ボード、下限以上のカウンタ、より新しいバージョン）、ペイロードを非アクティブなスロットにのみ書き込み、フラッシュから読み戻してハッシュを計算する。ダイジェストが一致し、署名が検証された場合にのみ（イメージ内で、又はKalumaでは次回起動時にローダが検証する）、そのスロットを起動可能とする。信頼する鍵は、プロビジョニングレコードと署名付きの鍵更新パッケージによって与えられる。',
      en: 'A package is a COSE_Sign1 (Ed25519) over a manifest naming vendor, model, runtime, board, version, security counter, size and the payload\'s SHA-256. Before writing anything the device checks the head (strict CBOR, a trusted key id that is not retired, its own vendor, model, runtime and board, a counter not below the floor, a newer version); it writes the payload into the inactive slot only, hashes it back from flash, and marks the slot bootable only once the digest matches and the signature verifies (in the image, or in the Kaluma loader at the next boot). The trusted keys come from the provisioning record and from signed key-rotation packages.',
    },
    modules: ['modules/ota', 'modules/crypto', 'firmware/device/loader.ts', 'firmware/host/update'],
    config: [],
    code: [
      { file: 'firmware/host/conform.ts', symbol: 'checkUpdate' },
      { file: 'modules/ota/manifest.ts', symbol: 'parsePackageHead' },
      { file: 'modules/ota/manifest.ts', symbol: 'checkManifest' },
      { file: 'modules/ota/verify.ts', symbol: 'checkSlot' },
      { file: 'modules/ota/verify.ts', symbol: 'keyOf' },
      { file: 'modules/crypto/ed25519.ts', symbol: 'ed25519VerifySteps' },
      { file: 'firmware/host/update/package.ts', symbol: 'createImagePackage' },
      { file: 'firmware/host/update/package.ts', symbol: 'verifyPackage' },
    ],
    tests: [
      { file: 'test/ota.test.ts', title: 'a signed update is uploaded, verified, booted on trial, confirmed, and kept across restarts (S1.1-06, -08, -14)' },
      { file: 'test/ota.test.ts', title: 'refused packages: each with its reason, the running image untouched, the device serving' },
      { file: 'test/ota.test.ts', title: 'hostile packages at the device: truncated in each region, a byte flipped in each region, malformed CBOR, oversize — each refused with its reason, the running image untouched' },
      { file: 'test/ota.test.ts', title: 'a lower security counter is refused once a higher one is committed (anti-rollback)' },
      { file: 'test/ota.test.ts', title: 'key rotation: a new key is trusted, a retired key is refused afterwards' },
      { file: 'test/update-manifest.test.ts', title: 'checkManifest: every rule of §2.1 and §2.2 against the device, in order' },
      { file: 'test/crypto-ed25519.test.ts', title: 'Ed25519: every Wycheproof vector (non-canonical and malleable signatures refused)' },
      { file: 'test/update-interop.test.ts', title: 'the device reader accepts Hoshi\'s packages and reads the same Sig_structure; host and device agree on mutated packages' },
      { file: 'test/conform.test.ts', title: 'the smart plug after its first-use change passes every check; the report, as JSON and Markdown, holds no password or key' },
    ],
    docs: ['docs/formats/update.md', 'docs/security.md', 'docs/design/espruino-update-authentication.md'],
    conform: ['update'],
  },
  {
    id: 'S1.1-09',
    title: {
      ja: '製造業者は、セキュリティ課題に対する迅速なアップデートを目的として、セキュリティアップデートの優先度を決定するための方針や指針を文書化すること。',
      en: 'The manufacturer documents how security updates are prioritised',
    },
    judgedBy: 'doc',
    en303645: ['5.3-8'],
    claim: {
      ja: '製造業者は、セキュリティアップデートの優先度を決定するための方針（例：深刻度に応じた対応目標時間）を文書化する。キットのセキュリティカウンタにより、脆弱性を修正したリリースの確定後は、脆弱なリリースの再インストールを防止できる。',
      en: 'The manufacturer documents its policy for prioritising security updates (for example target times by severity); the kit\'s security counter lets a release that fixes a vulnerability keep the vulnerable releases from being installed again.',
    },
    how: {
      ja: '方針自体は製造業者が作成する文書であり、キットはその実施を支援する。各パッケージはセキュリティカウンタ（hoshi release --counter）を持ち、機器はそのリリースの確定後、より小さいカウンタのパッケージを拒否する。hoshi publishは最新のリリースを公開し、リリースURLを持つ機器は確認周期内にそれをインストールする。',
      en: 'The policy is the manufacturer\'s document; the kit supports acting on it. Each package carries a security counter (hoshi release --counter) below which the unit refuses packages once a release carrying it is confirmed; hoshi publish serves the newest release, and units with a release URL install it within their check period.',
    },
    modules: ['modules/ota', 'firmware/host/update'],
    config: [],
    code: [
      { file: 'firmware/host/vendor-docs.ts', symbol: 'updatePolicy' },
      { file: 'modules/ota/manifest.ts', symbol: 'checkManifest' },
      { file: 'firmware/host/update/commands.ts', symbol: 'release' },
      { file: 'firmware/host/update/publish.ts', symbol: 'publish' },
    ],
    tests: [
      { file: 'test/ota.test.ts', title: 'a lower security counter is refused once a higher one is committed (anti-rollback)' },
      { file: 'test/update-package.test.ts', title: 'hoshi publish: static files, a signed latest.cose naming the newest version; a version is published once; the pointer never goes back' },
      { file: 'test/evidence.test.ts', title: 'smart plug: the three vendor documents in both languages, from the configuration and the manifest\'s metadata' },
    ],
    docs: ['docs/formats/update.md'],
    conform: [],
    vendorDocuments: ['update-policy'],
  },
  {
    id: 'S1.1-10',
    title: {
      ja: 'IoT製品の型番は、①IoT製品本体に直接記載する、又は②IoT製品のGUI、ウェブUI等や付帯するアプリケーション等からユーザが型番を認識できるようにする、のいずれかの方法でユーザへ提供すること。',
      en: 'The model number is given to the user: on the body, or in the device\'s or its app\'s UI',
    },
    judgedBy: 'doc/device',
    en303645: ['5.3-16'],
    claim: {
      ja: '型番は、認証なしに機器情報（GET /api/info）及び管理ページで確認でき、各機器のラベルにも印字される。製品本体への記載も可能である。',
      en: 'The model number is shown without login in the device information (GET /api/info) and on the admin page, and printed on each unit\'s label; the manufacturer may print it on the body as well.',
    },
    how: {
      ja: 'イメージの設定に型番とハードウェアリビジョンを記載する（必須、ビルド時に検査）。device-infoはこれらをGET /api/infoで示し、管理ページは「Device」欄及びページタイトルに表示し、hoshi provisionはすべてのラベル（labels.svg）に型番をシリアル番号とともに印字する。他の型番向けのアップデートパッケージは拒否する（wrong-model）。',
      en: 'The image\'s configuration holds the model and the hardware revision (required, checked when the image is built). device-info serves them in GET /api/info, the admin page shows them under "Device" and in its title, hoshi provision prints the model with the serial on every label (labels.svg), and update packages for another model are refused (wrong-model).',
    },
    modules: ['modules/device-info', 'modules/admin-page', 'firmware/host/labels.ts'],
    config: ['model', 'hardwareRevision'],
    code: [
      { file: 'firmware/host/conform.ts', symbol: 'checkInfo' },
      { file: 'firmware/device/core/module.ts', symbol: 'ImageConfig' },
      { file: 'firmware/device/image.ts', symbol: 'checkImage' },
      { file: 'modules/device-info/index.ts', symbol: 'deviceInfo' },
      { file: 'modules/admin-page/page.html' },
      { file: 'firmware/host/labels.ts', symbol: 'labelSheetSvg' },
    ],
    tests: [
      { file: 'test/device-info.test.ts', title: '${example} on the host simulator: /api/info shows the configuration\'s model, hardware revision, version, support end and disclosure URL, and the record\'s counter' },
      { file: 'test/device-info.test.ts', title: '${example} built for ${target}: its /api/info in the engine check shows the same configuration' },
      { file: 'test/simulator.test.ts', title: 'the simulator provisions a new unit and serves device info on 127.0.0.1' },
      { file: 'test/labels.test.ts', title: 'labels.svg: an A4 sheet with one label per unit (model, serial, password in monospace, QR of the setup URL, the access point, the setup key)' },
      { file: 'test/conform.test.ts', title: 'the smart plug after its first-use change passes every check; the report, as JSON and Markdown, holds no password or key' },
      { file: 'test/evidence.test.ts', title: 'smart plug: the checklist in Japanese and English, Markdown and HTML, holds the sixteen items with the image\'s values' },
    ],
    docs: ['docs/evaluators.md'],
    conform: ['info'],
  },
  {
    id: 'S1.1-11',
    title: {
      ja: 'IoT製品のストレージに保存される守るべき情報資産（SDカード等、ストレージメディアに保存される守るべき情報資産も含む。）は、セキュアに保存されること。',
      en: 'Protected assets in storage are stored securely',
    },
    judgedBy: 'doc',
    en303645: ['5.4-1'],
    claim: {
      ja: '機器に保存する秘密情報は、機器毎の固有秘密から導出した鍵の下で、CRYPTREC暗号リスト記載のアルゴリズムにより暗号化及び認証して保存する。機器はパスワードを保持せず、SCRAM検証子のみを保持する。',
      en: 'Secrets kept on the unit are encrypted and authenticated with CRYPTREC-listed algorithms under keys derived from a per-unit device secret; the unit keeps no password, only SCRAM verifiers.',
    },
    how: {
      ja: '機器毎の32バイトの固有秘密（device secret）は、プロビジョニング用ホストのCSPRNGで生成する。すべての鍵は用途毎のラベルを用いたHKDF-SHA-256で導出し、ソースコードに鍵を記載しない。状態ストアは、ユーザのパスワード検証子、Wi-Fiの認証情報及びDRBGの引継ぎ値を、store-seal鍵によるAES-128-CCMで暗号化し、キー名を関連データとして認証し、再利用されないノンスを用いる。すべてのレコードはCRC-32を持ち、セキュリティログはHMAC-SHA-256で連鎖させる。これらのボードでは、フラッシュの物理的な読出し（★1の脅威の想定外）は防止できない。その旨と製品化時の対策はdocs/security.mdに記載する。',
      en: 'Each unit\'s 32-byte device secret comes from the provisioning host\'s CSPRNG; every key is derived from it with HKDF-SHA-256, one label per purpose, and no key is in the source. The state store seals the user\'s password verifier, the Wi-Fi credentials and the DRBG carry with AES-128-CCM under the store-seal key, with the key name as associated data and a nonce that never repeats; every record carries a CRC-32, and the security log is chained with HMAC-SHA-256. Reading the flash with the board in hand (outside ★1\'s threat model) is not prevented on these boards: docs/security.md says so and lists the production hardening.',
    },
    modules: ['modules/keys', 'modules/store', 'modules/crypto', 'modules/network', 'firmware/host/provision.ts'],
    config: [],
    code: [
      { file: 'modules/keys/keys.ts', symbol: 'deviceKeys' },
      { file: 'modules/keys/keys.ts', symbol: 'KEY_PURPOSES' },
      { file: 'modules/store/format.ts', symbol: 'sealValue' },
      { file: 'modules/store/format.ts', symbol: 'openValue' },
      { file: 'modules/store/store.ts', symbol: 'openStore' },
      { file: 'modules/crypto/ccm.ts', symbol: 'ccmSeal' },
      { file: 'modules/network/wifi.ts', symbol: 'WIFI_KEY' },
      { file: 'modules/accounts/index.ts', symbol: 'VERIFIER_KEY' },
      { file: 'firmware/host/provision.ts', symbol: 'newProvisioningRecord' },
      { file: 'firmware/host/provision.ts', symbol: 'seedStateSector' },
    ],
    tests: [
      { file: 'test/keys.test.ts', title: 'every key is HKDF-SHA-256 of the device secret with its own label (checked against node:crypto)' },
      { file: 'test/keys.test.ts', title: 'one unit\'s flash cannot be opened with another unit\'s secret' },
      { file: 'test/store.test.ts', title: 'a sealed value opens only with its own device key and under its own key name' },
      { file: 'test/store.test.ts', title: 'nonces: 10,000 sealed writes with reboots and power cuts never put two records under one nonce' },
      { file: 'test/wifi.test.ts', title: 'PUT /api/network/wifi (admin) seals the credentials, answers, then joins; GET never shows the passphrase; the next boot joins' },
      { file: 'test/wifi.test.ts', title: 'hoshi provision --wifi-ssid: the passphrase comes from the environment and the dry run holds it only sealed' },
      { file: 'test/provisioning.test.ts', title: 'every unit gets its own secret, seed and setup key from the CSPRNG' },
      { file: 'test/crypto-aes.test.ts', title: 'AES-CCM: SP 800-38C examples' },
    ],
    docs: ['docs/security.md', 'docs/formats/store.md', 'docs/formats/provisioning.md', 'docs/boards.md'],
    conform: [],
  },
  {
    id: 'S1.1-12',
    title: {
      ja: 'ネットワーク経由で伝送される守るべき情報資産について、①IoT機器自らが盗聴に対する保護対策を行う、又は②保護された通信環境（VPN環境や専用線を経由した接続環境）においてのみ伝送される、のいずれかの保護対策が行われていること。',
      en: 'Protected assets sent over the network are protected against eavesdropping, by the device itself or by a protected network only',
    },
    judgedBy: 'doc',
    en303645: ['5.5-1', '5.5-7'],
    claim: {
      ja: '①を満たす。ログイン後に送受信する守るべき情報資産は機器自らが保護し、public以外のルートのすべてのリクエストと応答を管理チャネルで暗号化及び認証する。ログインではパスワードを送信せず、新しいパスワードは管理チャネル内でのみ伝送される。セットアップ用アクセスポイントは、機器毎のパスフレーズによるWPA2を用いる。',
      en: 'Option (1) is met: the device itself protects what it sends and receives after login, every request and answer of a non-public route being encrypted and authenticated by the admin channel; a login never sends the password, a new password travels only inside the channel, and the setup access point uses WPA2 with a per-unit passphrase.',
    },
    how: {
      ja: 'SCRAM-SHA-256によるログイン（パスワードは送信せず、機器のセットアップキーで前処理される）の後、管理用のすべてのリクエストと応答の本文は、AES-CCM-16-64-128によるCOSE_Encrypt0とする。鍵はOSCORE（RFC 8613）と同様に、ログインで得た秘密とセットアップキーから導出し、シーケンス番号は厳密に増加させる。保護されていない、再送された、改変された又は宛先の異なるリクエストは拒否する。アップデートパッケージは公開かつ署名付きであるため平文で伝送し、publicのルートは秘密を含まない。',
      en: 'After a SCRAM-SHA-256 login (which never sends the password; it is pre-hashed with the unit\'s setup key), every admin request and answer body is a COSE_Encrypt0 with AES-CCM-16-64-128, its keys derived as in OSCORE (RFC 8613) from the login\'s secret and the setup key, its sequence numbers strictly increasing; plain, replayed, altered or misdirected requests are refused. Update packages travel in clear because they are public and signed; public routes carry nothing secret.',
    },
    modules: ['modules/channel', 'modules/accounts', 'firmware/host/client.ts', 'modules/admin-page'],
    config: [],
    code: [
      { file: 'firmware/host/conform.ts', symbol: 'checkChannel' },
      { file: 'modules/channel/channel.ts', symbol: 'channelKeys' },
      { file: 'modules/channel/channel.ts', symbol: 'openRequest' },
      { file: 'modules/channel/channel.ts', symbol: 'protectAnswer' },
      { file: 'modules/channel/setup.ts', symbol: 'scramPassword' },
      { file: 'modules/channel/setup.ts', symbol: 'setupAccessPoint' },
      { file: 'modules/accounts/scram.ts', symbol: 'sessionSecret' },
      { file: 'modules/accounts/index.ts', symbol: 'accounts' },
      { file: 'firmware/host/client.ts', symbol: 'Session' },
    ],
    tests: [
      { file: 'test/channel-http.test.ts', title: 'a whole session through a recording proxy: no password, passphrase, key or secret in any spelling on the wire, and the channel in use' },
      { file: 'test/channel-http.test.ts', title: 'replayed and reordered requests are refused (channel-replayed) and change nothing' },
      { file: 'test/channel-http.test.ts', title: 'truncated, bit-flipped, misrouted and reversed messages are refused with their codes, and none of them advances the sequence number' },
      { file: 'test/channel-http.test.ts', title: 'every non-public route of both examples refuses a plain request with a valid token (channel-required); public routes stay plain' },
      { file: 'test/channel.test.ts', title: 'RFC 8613 C.3.1: channelKeys gives the Sender Key, Recipient Key and Common IV of the client with an ID Context' },
      { file: 'test/channel-interop.test.ts', title: 'Python (cbor2, cryptography AESCCM) opens a recorded exchange with the device, and the device accepts what Python protects' },
      { file: 'test/client.test.ts', title: 'wifiState and setWifi go through the channel: the passphrase is never in clear' },
      { file: 'test/conform.test.ts', title: 'the smart plug after its first-use change passes every check; the report, as JSON and Markdown, holds no password or key' },
    ],
    docs: ['docs/formats/channel.md', 'docs/security.md', 'docs/evaluators.md'],
    conform: ['channel'],
  },
  {
    id: 'S1.1-13',
    title: {
      ja: 'IoT製品の利用上不要かつ攻撃を受けるリスクがあるインタフェース（TCP/UDPポート、Bluetooth、USB）を無効化するとともに、脆弱性スキャンツールによる既知の脆弱性検査を実施し、攻撃に悪用される可能性がある脆弱性が検出されないこと。',
      en: 'Unneeded risky interfaces (TCP/UDP ports, Bluetooth, USB) are disabled, and a vulnerability scan finds nothing exploitable',
    },
    judgedBy: 'doc+scan',
    en303645: ['5.6-1', '5.6-3', '5.6-4'],
    claim: {
      ja: 'イメージが開くすべてのインタフェースは用途とともに宣言し、それ以外はランタイムが許す範囲で無効化する。ボードが無効化できないものは報告する。すべてのTCPポートのスキャン結果は宣言と一致する。既知の脆弱性の検査は、製造業者が完成品に対して実施する。',
      en: 'Every interface the image opens is declared with its purpose and everything else is closed as far as the runtime allows; what a board cannot close is reported; a scan of every TCP port matches the declaration. The known-vulnerability scan is run by the manufacturer on the finished product.',
    },
    how: {
      ja: 'config.interfacesに、HTTPポート、その他のTCP/UDPの待受け、Bluetooth、USB、セットアップ用アクセスポイント及び外向きの通信を宣言し、ビルドは未知の項目を拒否する。起動時にボードはコンソールモードを適用し（製品ではoff：REPLなし）、ランタイムが開いたままにするもの（KalumaのUSB REPL、ESP32のダウンロードモード、mDNS、NVSで有効なBluetooth）を報告する。modules/interfacesはその結果をGET /api/infoとセキュリティログに公開する。firmware/host/port-scan.tsはTCPポート1～65535のスキャン結果を宣言と比較し、HTTPサーバは不正なリクエストの試験群で検査される。完成品に対する脆弱性スキャンツールによる検査は製造業者が行い、その報告書を証跡とする。',
      en: 'config.interfaces declares the HTTP port and any other TCP or UDP listener, Bluetooth, USB, the setup access point and outgoing connections, and the build refuses unknown fields. At boot the board applies the console mode ("off" in production: no REPL) and reports what its runtime keeps open (Kaluma\'s USB REPL; an ESP32\'s download mode, mDNS, Bluetooth while NVS has it on); modules/interfaces publishes the result in GET /api/info and the security log. firmware/host/port-scan.ts compares a scan of TCP ports 1-65535 with the declaration, and the HTTP server is tested with a hostile-request suite. The scan of the finished product with a vulnerability scanning tool is the manufacturer\'s, and its report is the evidence.',
    },
    modules: ['modules/interfaces', 'firmware/device/image.ts', 'hal/console.ts', 'firmware/host/port-scan.ts', 'firmware/device/core/http-server.ts'],
    config: ['interfaces', 'interfaces.console', 'interfaces.setupAp'],
    code: [
      { file: 'firmware/host/conform.ts', symbol: 'checkInterfaces' },
      { file: 'firmware/host/evidence.ts', symbol: 'interfacesDoc' },
      { file: 'firmware/device/core/module.ts', symbol: 'InterfacesConfig' },
      { file: 'firmware/device/image.ts', symbol: 'checkInterfaces' },
      { file: 'hal/console.ts', symbol: 'ConsoleControl' },
      { file: 'modules/interfaces/index.ts', symbol: 'interfaces' },
      { file: 'firmware/host/port-scan.ts', symbol: 'scanTcp' },
      { file: 'firmware/host/port-scan.ts', symbol: 'compareWithDeclaration' },
      { file: 'firmware/device/core/http-server.ts', symbol: 'serveHttp' },
    ],
    tests: [
      { file: 'test/interfaces-scan.test.ts', title: 'the smart plug on the simulator: every open TCP port of its address is declared' },
      { file: 'test/interfaces-scan.test.ts', title: 'an image that opens a listener it does not declare fails the comparison; declared, the same port passes' },
      { file: 'test/interfaces.test.ts', title: 'a full declaration passes; what is absent is closed' },
      { file: 'test/interfaces.test.ts', title: 'a malformed declaration is refused at the image check, naming the field' },
      { file: 'test/interfaces.test.ts', title: 'ESP32 board (Espruino fake): "off" turns Telnet off and detaches the serial console for good; USB, mDNS and Bluetooth (on in NVS) are reported not closed, with why' },
      { file: 'test/interfaces.test.ts', title: 'Kaluma boards (Kaluma fake): the USB REPL cannot be closed and is reported with what a product must do; Bluetooth is closed by absence' },
      { file: 'test/setup-ap.test.ts', title: 'an image that does not declare the setup access point never opens one (S1.1-13), and says why' },
      { file: 'test/http-hostile.test.ts', title: 'host: the same suite over real sockets against the simulator' },
      { file: 'test/conform.test.ts', title: 'an image with a listener it does not declare fails the interfaces check, naming the port' },
      { file: 'test/evidence.test.ts', title: 'smart plug: the interface declaration says what each board opens and what it cannot close' },
    ],
    docs: ['docs/interfaces.md', 'docs/boards.md', 'docs/security.md'],
    conform: ['interfaces'],
  },
  {
    id: 'S1.1-14',
    title: {
      ja: '停電等による電力供給の停止やネットワークの停止の後、電力供給が再開され、ネットワーク機能が復帰した際に、アクセス制御の際に使用する認証値（パスワード、秘密鍵など）の設定及びアップデートが完了したソフトウェアが工場出荷時の初期状態に戻ることなく、電源OFFになる直前の状態を維持できること。',
      en: 'After power or network loss, authentication values and updated software keep their state and are not reset to factory state',
    },
    judgedBy: 'doc/device',
    en303645: ['5.9-2'],
    claim: {
      ja: '停電やネットワークの停止がいつ発生しても、機器は直前の認証値とソフトウェアで復帰し、工場出荷時の初期状態には戻らない。',
      en: 'Whenever power or the network is lost, the unit comes back with the authentication values and the software it had, never with factory defaults.',
    },
    how: {
      ja: '状態ストアは上書きを行わない。レコードはコミットワードの書込みをもって有効となり、複数キーの変更は一括でコミットし、コンパクションは新しい世代を完全に書き込んでから旧世代を無効にする。パスワード検証子は1回の書込みで置き換え、ログイン失敗回数は証明値の検証前に保存する。ブート制御レコードは2つの領域に交互に書き込むため、停電後も旧レコード又は新レコードが残り、A/Bスロットは新しいイメージが確定するまで動作中のイメージを保持する。Wi-Fiの認証情報はストアに暗号化して保持し、ネットワークの復帰時に再接続する。',
      en: 'The state store never rewrites in place: a record counts once its commit word is written, a multi-key change commits as one, and compaction writes a complete new generation before the old one stops counting. The password verifier is replaced in one write, and the failed-login count is stored before a proof is checked. The boot control record alternates between two halves, so a power cut leaves the old record or the new one, and the A/B slots keep the running image until a new one is confirmed. The Wi-Fi credentials stay sealed in the store, and the unit rejoins when the network returns.',
    },
    modules: ['modules/store', 'firmware/device/core/bootctl.ts', 'firmware/device/loader.ts', 'modules/accounts', 'modules/network'],
    config: [],
    code: [
      { file: 'firmware/host/conform.ts', symbol: 'checkUpdate' },
      { file: 'modules/store/store.ts', symbol: 'openStore' },
      { file: 'modules/store/write.ts', symbol: 'commitChanges' },
      { file: 'modules/store/scan.ts', symbol: 'recover' },
      { file: 'firmware/device/core/bootctl.ts', symbol: 'writeBootRecord' },
      { file: 'firmware/device/core/bootctl.ts', symbol: 'readBootRecord' },
      { file: 'firmware/device/loader.ts', symbol: 'runLoader' },
      { file: 'modules/accounts/index.ts', symbol: 'VERIFIER_KEY' },
      { file: 'modules/accounts/index.ts', symbol: 'FAILS_KEY' },
      { file: 'modules/network/wifi.ts', symbol: 'wifi' },
    ],
    tests: [
      { file: 'test/store-power.test.ts', title: 'random sequences of writes, reboots and several power cuts keep every key at a committed value' },
      { file: 'test/accounts.test.ts', title: 'a power cut at every flash operation of a password change leaves the old password or the new one' },
      { file: 'test/accounts.test.ts', title: 'the failure count survives a reboot, and a reboot restarts the current wait instead of ending it' },
      { file: 'test/bootctl.test.ts', title: 'write: a power cut at every operation (dropped, torn, scrambled) leaves the previous record or the new one' },
      { file: 'test/ota-powercut.test.ts', title: 'a power cut at every flash operation of an update leaves a unit that boots a verified image, its version reported (S1.1-08, -14)' },
      { file: 'test/ota-powercut.test.ts', title: 'a power cut at every flash operation of a revert leaves a unit on the previous image' },
      { file: 'test/network-start.test.ts', title: '${target}: a unit that boots before its access point is up serves once it joins, and again after the network comes back' },
      { file: 'test/setup-ap.test.ts', title: 'joined units reboot without an access point; with the credentials deleted (what a wipe does), the next boot opens it again' },
      { file: 'test/conform.test.ts', title: 'the smart plug after its first-use change passes every check; the report, as JSON and Markdown, holds no password or key' },
    ],
    docs: ['docs/formats/store.md', 'docs/formats/update.md', 'docs/security.md'],
    conform: ['update'],
  },
  {
    id: 'S1.1-15',
    title: {
      ja: 'ユーザが、IoT機器本体や必須付随サービスを介して、IoT製品利用中に取得した情報資産（個人情報含む）、ユーザ設定値、ユーザが設定した認証値、利用中に取得した暗号鍵やデジタル署名を削除できること。データ削除後も、アップデートされたファームウェア（ソフトウェア）パッケージのバージョンは維持されること。',
      en: 'The user can delete data gathered in use, settings, authentication values and keys; the updated firmware version is kept',
    },
    judgedBy: 'doc/device',
    en303645: ['5.11-1'],
    claim: {
      ja: '管理ページ、管理API、又はボタンを持つボードではボタンの10秒間の長押しによる工場出荷時データ消去により、ユーザのデータ、設定値、パスワード、Wi-Fiの認証情報、利用中に取得した鍵及びセキュリティログの記録をフラッシュから消去する。アップデートされたファームウェアとそのバージョンは維持する。',
      en: 'A factory data wipe, from the admin page, the admin API or, where the board has one, a button held 10 s, erases from the flash the user\'s data, settings, password, Wi-Fi credentials, the keys obtained in use and the security log\'s entries, and keeps the updated firmware and its version.',
    },
    how: {
      ja: 'modules/wipeは、いずれのモジュールも保持を宣言していないストアのキーを消去マーカとともに1回のコミットで削除し、各モジュールの消去処理（セキュリティログの記録の破棄）を実行した後、ストアのパージにより有効なレコード以外のすべてのセクタを消去するため、旧い値はフラッシュに残らない。機器はラベルのパスワード（初回変更必須）とセットアップ用アクセスポイントの状態で再起動する。プロビジョニングレコード、ファームウェアのスロット、ブート制御レコード（バージョン、カウンタ、信頼する鍵）及びロックアウトの計数は維持し、停電で中断した消去は次回起動時に再開する。',
      en: 'modules/wipe deletes every store key that no module keeps, in one commit with a wipe marker, runs the modules\' wipe tasks (the security log forgets its entries), then purges the store, which erases every sector but the live records\', so no old value remains on the flash; the unit restarts with the label\'s password (forced change) and its setup access point. It keeps the provisioning record, the firmware slots, the boot control record (version, counter, trusted keys) and the lockout count. A wipe cut by a power loss resumes at the next boot.',
    },
    modules: ['modules/wipe', 'modules/store', 'modules/audit', 'modules/admin-page'],
    config: [],
    code: [
      { file: 'firmware/host/conform.ts', symbol: 'checkWipe' },
      { file: 'modules/wipe/index.ts', symbol: 'wipe' },
      { file: 'modules/wipe/work.ts', symbol: 'wipeWorkCode' },
      { file: 'modules/wipe/work.ts', symbol: 'WIPE_KEY' },
      { file: 'modules/store/store.ts', symbol: 'purge' },
      { file: 'modules/audit/forget.ts', symbol: 'forgetLog' },
      { file: 'firmware/device/core/module.ts', symbol: 'HoshiModule' },
      { file: 'modules/admin-page/page.html' },
    ],
    tests: [
      { file: 'test/wipe.test.ts', title: 'a wipe deletes everything of the user\'s, erased from the flash, and keeps the identity, the firmware, its counter, the trusted keys and the lockout count' },
      { file: 'test/wipe.test.ts', title: 'a hostile or unconfirmed wipe request is refused with a reason and deletes nothing' },
      { file: 'test/wipe.test.ts', title: 'a power cut at every flash operation of a wipe leaves the unit as it was, or wiped once it is powered again' },
      { file: 'test/store-purge.test.ts', title: 'byte scan: no wiped or superseded value stays on the flash after purge, ${label}' },
      { file: 'test/browser.test.ts', title: 'first use in Chromium: setup URL, label password, forced change, Wi-Fi, relay, log out' },
      { file: 'test/conform.test.ts', title: 'the smart plug after its first-use change passes every check; the report, as JSON and Markdown, holds no password or key' },
    ],
    docs: ['docs/security.md', 'docs/formats/store.md', 'docs/formats/audit.md', 'docs/evaluators.md'],
    conform: ['wipe'],
  },
  {
    id: 'S1.1-16',
    title: {
      ja: '製造業者は、①安全に利用できる手順、②セキュリティアップデートの内容や必要性、アップデートを行わない場合の影響、③免責事項、④サポート期限又はサポート終了時の方針、⑤守るべき情報資産が残留したまま廃棄や中古販売することのリスクとデータ消去を含む安全な利用終了方法を周知すること。',
      en: 'The manufacturer informs users of secure setup and use, what updates do, disclaimers, the support period, and secure disposal',
    },
    judgedBy: 'doc',
    en303645: ['5.3-11', '5.3-13', '5.11-3'],
    claim: {
      ja: '製造業者は、①～⑤の情報を利用者向けの文書で周知する。機器は、サポート期限と、廃棄前のデータ消去の方法を示す。',
      en: 'The manufacturer gives users the information (1) to (5) in its user documentation; the unit itself shows the end of its support period and how to wipe it before disposal.',
    },
    how: {
      ja: '文書自体は製造業者が作成し、キットはその内容となる事実を提供する。サポート期限（supportEnd）をGET /api/info及び管理ページ（「Security updates until」）で示す。初回設定の流れ（ラベル、パスワードの初回変更、セットアップ用アクセスポイント）、各パッケージに署名付きで含めるリリースノートのURL（hoshi release --notes、hoshi inspectで表示）、及び消去するものと維持するものを説明する管理ページのデータ消去機能を備える。',
      en: 'The documents are the manufacturer\'s; the kit supplies their facts. The support end date (supportEnd) is shown in GET /api/info and on the admin page ("Security updates until"); the first use is one flow (the label, the forced password change, the setup access point); each package can carry a signed release-notes URL (hoshi release --notes, shown by hoshi inspect); and the admin page\'s factory data wipe says what it deletes and what it keeps.',
    },
    modules: ['modules/device-info', 'modules/admin-page', 'modules/wipe', 'firmware/host/update'],
    config: ['supportEnd', 'vendor', 'model'],
    code: [
      { file: 'firmware/host/vendor-docs.ts', symbol: 'userInformation' },
      { file: 'firmware/device/core/module.ts', symbol: 'ImageConfig' },
      { file: 'modules/device-info/index.ts', symbol: 'deviceInfo' },
      { file: 'modules/admin-page/page.html' },
      { file: 'firmware/host/update/package.ts', symbol: 'describePackage' },
    ],
    tests: [
      { file: 'test/device-info.test.ts', title: '${example} on the host simulator: /api/info shows the configuration\'s model, hardware revision, version, support end and disclosure URL, and the record\'s counter' },
      { file: 'test/update-package.test.ts', title: 'a package round-trips: verifies under its key, with notes, with alg -19, and the overhead is small' },
      { file: 'test/evidence.test.ts', title: 'smart plug: the three vendor documents in both languages, from the configuration and the manifest\'s metadata' },
    ],
    docs: ['docs/security.md', 'docs/boards.md'],
    conform: [],
    vendorDocuments: ['user-information'],
  },
];

/** The repository's root: the folder two levels above this file. */
export const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * A test call with a literal title: `test(…)` with any of ava's modifiers (`test.serial(…)`,
 * `test.skip(…)`), or a chosen one, `(cond ? test : test.skip)(…)`; the title in single, double or
 * back quotes. Not preceded by a dot or a name character, so `/re/.test('…')` is no test.
 */
const TEST_CALL = /(?<![.\w$])(?:test(?:\.(?:serial|only|skip|failing))*|\(\s*[\w$.!]+\s*\?\s*test(?:\.\w+)*\s*:\s*test(?:\.\w+)*\s*\))\s*\(\s*(['"`])((?:\\[\s\S]|(?!\1)[^\\])*)\1/g;

/** A string literal's text without its escapes (`\'`, `\"`, `` \` ``, `\\`, `\n`, `\xNN`, `\uNNNN`, `\u{N}`, a line continuation). */
function unescape(body: string): string {
  return body.replace(/\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\r\n|[\s\S])/g, (_all, e: string) => {
    if (e[0] === 'u' && e[1] === '{') return String.fromCodePoint(parseInt(e.slice(2, -1), 16));
    if ((e[0] === 'u' || e[0] === 'x') && e.length > 1) return String.fromCharCode(parseInt(e.slice(1), 16));
    const simple: { [c: string]: string } = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', '0': '\0', '\n': '', '\r\n': '', '\r': '' };
    return e in simple ? simple[e]! : e;
  });
}

/**
 * The titles of the tests a test file declares, in order. A title in back quotes is given as the
 * source writes it, placeholders included (`${target} binding: …`, one test per value of the loop
 * around it): the mapping names such a test by that text.
 */
export function testTitles(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(TEST_CALL)) out.push(unescape(m[2]!));
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * True if `source` defines `name`: a function, class, interface, type, enum, `const` or `let` of
 * that name, a member of an object literal (`name:` or `'name':` at the start of a line or after
 * `{` or `,`), or a name in an `export { … }` list.
 */
export function definesSymbol(source: string, name: string): boolean {
  const n = escapeRegExp(name);
  const declared = new RegExp('(?:^|[^\\w$.])(?:function\\*?|class|interface|type|enum|const|let|var)\\s+' + n + '(?![\\w$])');
  const member = new RegExp('(?:^|[{,])\\s*([\'"]?)' + n + '\\1\\s*:', 'm');
  if (declared.test(source) || member.test(source)) return true;
  for (const m of source.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    if (m[1]!.split(',').some((part) => part.trim().replace(/^type\s+/, '').split(/\s+as\s+/).some((s) => s.trim() === name))) return true;
  }
  return false;
}

/** A repository path as the mapping writes it: relative, forward slashes, nothing outside the repository. */
function pathProblem(path: string): string | undefined {
  if (typeof path !== 'string' || path.length === 0) return 'empty path';
  if (isAbsolute(path) || path.includes('\\') || path.split('/').some((p) => p === '..' || p === '.' || p === '')) return 'not a plain repository path';
  return undefined;
}

/**
 * What no longer holds of what `criteria` name: each problem as one line, "<id> <what>: <why>".
 * A module, code file, test file or document that does not exist; a symbol the code file does not
 * define; a test title the test file does not declare; a `hoshi conform` check that does not exist.
 * Empty when every reference holds. `root` is the repository to look in.
 */
export function traceProblems(criteria: readonly Criterion[], root: string = REPOSITORY_ROOT): string[] {
  const problems: string[] = [];
  const texts = new Map<string, string | undefined>();
  const read = (path: string): string | undefined => {
    if (!texts.has(path)) {
      const full = join(root, path);
      texts.set(path, existsSync(full) && statSync(full).isFile() ? readFileSync(full, 'utf8') : undefined);
    }
    return texts.get(path);
  };
  const exists = (path: string): boolean => existsSync(join(root, path));
  const titles = new Map<string, string[]>();
  for (const c of criteria) {
    const at = (what: string, why: string): void => {
      problems.push(c.id + ' ' + what + ': ' + why);
    };
    for (const m of c.modules) {
      const bad = pathProblem(m);
      if (bad) at('module ' + m, bad);
      else if (!exists(m)) at('module ' + m, 'no such file or folder');
    }
    for (const e of c.code) {
      const bad = pathProblem(e.file);
      const text = bad ? undefined : read(e.file);
      if (bad) at('code ' + e.file, bad);
      else if (text === undefined) at('code ' + e.file, 'no such file');
      else if (e.symbol !== undefined && !definesSymbol(text, e.symbol)) at('code ' + e.file, 'defines no ' + e.symbol);
    }
    for (const e of c.tests) {
      const bad = pathProblem(e.file);
      const text = bad ? undefined : read(e.file);
      if (bad) at('test ' + e.file, bad);
      else if (text === undefined) at('test ' + e.file, 'no such file');
      else {
        if (!titles.has(e.file)) titles.set(e.file, testTitles(text));
        if (!titles.get(e.file)!.includes(e.title)) at('test ' + e.file, 'no test titled ' + JSON.stringify(e.title));
      }
    }
    for (const d of c.docs) {
      const bad = pathProblem(d);
      if (bad) at('doc ' + d, bad);
      else if (read(d) === undefined) at('doc ' + d, 'no such file');
    }
    for (const k of c.conform) {
      if (!Object.prototype.hasOwnProperty.call(CONFORM_CHECKS, k)) at('conform ' + k, 'no such check of hoshi conform');
    }
  }
  return problems;
}
