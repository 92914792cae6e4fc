import type { Block, Contact, Doc, EvidenceFacts, Inline, Lang } from './evidence';

/**
 * The documents a vendor must publish or hand to users for JC-STAR ★1, drafted from the image's
 * configuration and the manifest's "evidence" metadata (firmware/host/evidence.ts), in Japanese
 * (in the terms of IPA's criteria) and English:
 * - the vulnerability disclosure policy (脆弱性開示ポリシー, S1.1-05 ①–③);
 * - the security update prioritisation policy (セキュリティアップデートの優先度決定方針, S1.1-09);
 * - the information for users (利用者向け情報, S1.1-16 ①–⑤).
 * What only the vendor knows is marked to fill ({fill}); wording proposed here that the vendor
 * must confirm is marked to check ({check}). Nothing is promised that the kit does not do.
 */

type Both = (ja: string, en: string) => string;

/** The product's name, or what to fill. */
export function productName(f: EvidenceFacts, lang: Lang): Inline {
  return f.meta.productName ? f.meta.productName[lang] : { fill: lang === 'ja' ? '製品名称' : 'product name' };
}

/** A contact as inline parts (e-mail, URL, phone), or what to fill. */
export function contactParts(c: Contact | undefined, lang: Lang, what: string): Inline[] {
  const parts: Inline[] = [];
  const next = (): void => {
    if (parts.length) parts.push({ br: true });
  };
  if (c?.email) parts.push({ link: 'mailto:' + c.email, text: c.email });
  if (c?.url) {
    next();
    parts.push({ link: c.url });
  }
  if (c?.phone) {
    next();
    parts.push((lang === 'ja' ? '電話 ' : 'phone ') + c.phone);
  }
  return parts.length ? parts : [{ fill: what }];
}

function say(lang: Lang): Both {
  return (ja, en) => (lang === 'ja' ? ja : en);
}

/** The draft's notice, first in every document. */
function draftNote(f: EvidenceFacts, lang: Lang, what: string, criterion: string): Block {
  const L = say(lang);
  return {
    note: [
      L('本書は、', 'This is a draft of the '),
      { strong: what },
      L('の下書きです（JC-STAR ★1 適合基準 ' + criterion + '）。', ' (JC-STAR ★1 criterion ' + criterion + '). '),
      L(f.vendor + ' は内容を確認し、【要記入】を埋め、【要確認】の提案を社内の体制・手順と照らして確かめてから公開してください。下書きのままでは適合基準を満たしません。', f.vendor + ' must review it, fill every [TO FILL] and confirm every [TO CHECK] against its own organisation and procedures before publishing it; as a draft it does not meet the criterion.'),
    ],
  };
}

function productTable(f: EvidenceFacts, lang: Lang): Block {
  const L = say(lang);
  const c = f.config;
  return {
    table: {
      head: [L('項目', 'Item'), L('内容', 'Value')],
      rowHeads: true,
      rows: [
        [[L('製造業者', 'Vendor')], [f.vendor]],
        [[L('製品名称', 'Product')], [productName(f, lang)]],
        [[L('型番', 'Model')], [{ code: c.model }]],
        [[L('ハードウェアリビジョン', 'Hardware revision')], [{ code: c.hardwareRevision }]],
        [[L('ファームウェアバージョン（本書の作成時）', 'Firmware version (when drafted)')], [{ code: c.firmwareVersion }]],
        [[L('セキュリティアップデートの提供期限', 'Security updates until')], [{ code: c.supportEnd }]],
      ],
    },
  };
}

const days = (n: number | undefined, lang: Lang, what: string, business = false): Inline =>
  n === undefined ? { fill: what } : lang === 'ja' ? n + (business ? ' 営業日' : ' 日') : n + (business ? ' business days' : ' days');

/** 脆弱性開示ポリシー: contact (①), what happens after a report (②), status until fixed (③). */
export function disclosurePolicy(f: EvidenceFacts, lang: Lang): Doc {
  const L = say(lang);
  const c = f.config;
  const d = f.meta.disclosure ?? {};
  const report = f.meta.vulnerabilityReport;
  const blocks: Block[] = [
    draftNote(f, lang, L('脆弱性開示ポリシー', 'vulnerability disclosure policy'), 'S1.1-05'),
    { p: [L(f.vendor + '（以下「当社」）は、製品のセキュリティに関する問題の報告を受け付け、次の手続きで対応します。このポリシーは ', f.vendor + ' (“we”) welcomes reports of security problems in its products and handles them as follows. This policy is published at '), { link: c.vulnerabilityDisclosureUrl }, L(' に掲載しています。', '.')] },
    { h: 2, text: L('対象製品', 'Products covered') },
    productTable(f, lang),
    { p: [L('サポート期間中（', 'Every firmware version within the support period (until '), { code: c.supportEnd }, L('まで）のすべてのファームウェアバージョンが対象です。', ') is covered.'), ' ', { check: L('対象とする他の製品・サービス（スマートフォンアプリ、クラウド等）', 'other products or services covered (apps, cloud services)') }] },

    { h: 2, text: L('1. 報告の連絡先', '1. Where to report') },
    { table: { head: [L('窓口', 'Channel'), L('連絡先', 'Address')], rowHeads: true, rows: [
      [[L('電子メール', 'E-mail')], report?.email ? [{ link: 'mailto:' + report.email, text: report.email }] : [{ fill: L('届出用のメールアドレス', 'the e-mail address for reports') }]],
      [[L('ウェブフォーム', 'Web form')], report?.url ? [{ link: report.url }] : [{ fill: L('届出フォームの URL（ない場合は行を削除）', 'the report form\'s URL (or drop this row)') }]],
      [[L('受付言語', 'Languages')], [L('日本語、英語', 'Japanese, English'), ' ', { check: L('受け付ける言語', 'the languages accepted') }]],
      [[L('暗号化', 'Encryption')], [{ fill: L('暗号化した報告を受け付ける場合は公開鍵の所在（不要なら行を削除）', 'where the public key for encrypted reports is (or drop this row)') }]],
    ] } },
    { p: [L('報告には、次の情報をできるだけ含めてください。', 'Please include, as far as you can:')] },
    { ul: [
      [L('製品の型番とファームウェアバージョン（管理ページの「Model」「Firmware version」、又は ', 'the model and firmware version (the admin page\'s “Model” and “Firmware version”, or '), { code: 'GET /api/info' }, L(' で確認できます）', ')')],
      [L('問題の内容と、再現の手順', 'what the problem is, and how to reproduce it')],
      [L('想定される影響（例：認証の回避、設定の改ざん、情報の漏えい）', 'the impact you expect (e.g. authentication bypassed, settings altered, information disclosed)')],
      [L('連絡先（匿名での報告も受け付けます）', 'how to reach you (anonymous reports are accepted too)')],
    ] },
    { p: [L('情報セキュリティ早期警戒パートナーシップに基づき IPA に届け出られ、JPCERT/CC から調整の連絡があった場合も、同じ手続きで対応します。', 'Reports made to IPA under Japan\'s Information Security Early Warning Partnership and coordinated by JPCERT/CC are handled by the same procedure.'), ' ', { check: L('JPCERT/CC との調整窓口', 'the contact point for JPCERT/CC') }] },
    { p: [L('調査にあたっては、他人の機器やデータにアクセスしないこと、サービスを妨害しないことをお願いします。', 'When you investigate, please do not access other people\'s devices or data, and do not disrupt services.'), ' ', { check: L('善意の調査者への法的措置に関する方針（法務確認）', 'the policy on legal action against good-faith research (legal review)') }] },

    { h: 2, text: L('2. 報告を受けた後の手続き', '2. What happens after a report') },
    { ol: [
      [{ strong: L('受領の連絡', 'Acknowledgement') }, L('：報告を受領してから ', ': we confirm receipt within '), days(d.acknowledgeDays, lang, L('受領連絡までの営業日数', 'business days to acknowledge'), true), L('以内に、受領したことを報告者に連絡します。', ' of receiving the report.')],
      [{ strong: L('確認と評価', 'Triage') }, L('：問題を再現して確認し、影響する型番とファームウェアバージョンを特定し、CVSS により深刻度を評価します。評価と優先度は「', ': we reproduce the problem, identify the models and firmware versions it affects and rate its severity with CVSS, as the '), { doc: 'update-policy', text: L('セキュリティアップデートの優先度決定方針', 'security update prioritisation policy') }, L('」に従います。', ' describes.')],
      [{ strong: L('対策', 'Fix') }, L('：修正したファームウェアを、署名付きのセキュリティアップデートとして提供します。提供までの目標期間は深刻度ごとに優先度決定方針で定めています。', ': we release the fixed firmware as a signed security update, within the target time the prioritisation policy sets for its severity.')],
      [{ strong: L('公表', 'Disclosure') }, L('：アップデートの提供後、セキュリティ情報として公表します（', ': once the update is out we publish a security advisory ('), f.meta.advisoriesUrl ? { link: f.meta.advisoriesUrl } : { fill: L('セキュリティ情報の掲載場所', 'where advisories are published') }, L('）。公表の時期は報告者と調整し、報告の受領から ', '). We agree the date with the reporter, and publish no later than '), days(d.publishWithinDays, lang, L('公表までの最長日数', 'the longest time to disclosure, in days')), L('以内を目安とします。報告者が希望する場合は、謝辞に名前を記載します。', ' after the report, as a rule. Reporters who wish are credited in it.')],
    ] },

    { h: 2, text: L('3. 解決までの状況の連絡', '3. Status until it is fixed') },
    { ul: [
      [L('報告者には、少なくとも ', 'We tell the reporter how things stand (investigating, fix in progress, expected release, released) at least every '), days(d.statusEveryDays, lang, L('状況連絡の間隔（日数）', 'the interval of status updates, in days')), L('ごとに、状況（調査中、修正中、提供予定時期、提供済み）を連絡します。', '.')],
      [L('利用者の対応が必要な場合は、修正の提供前でも、影響と回避策をセキュリティ情報として公表し、状況が変わるたびに更新します。', 'Where users need to act, we publish the impact and a workaround before the fix is out, and update it whenever the situation changes.')],
      [L('修正を提供したときは、アップデートの内容、必要性、適用しない場合の影響を周知します（', 'When the fix is released we say what the update does, why it is needed and what not applying it risks ('), { doc: 'user-information', text: L('利用者向け情報', 'information for users') }, L('）。', ').')],
      [L('サポート期間の終了などにより修正を提供できない場合は、その旨と代わりの対策を報告者と利用者に知らせます。', 'Where no fix can be provided (for example after the support period), we say so, with what to do instead, to the reporter and to users.')],
    ] },

    { h: 2, text: L('4. 報告者の情報の取扱い', '4. Reporters\' information') },
    { p: [L('報告者の個人情報は、この報告への対応にのみ利用し、同意なく第三者に提供しません（法令に基づく場合を除く）。', 'We use a reporter\'s personal information only to handle the report and share it with no one without consent, except as the law requires.'), ' ', { check: L('個人情報保護方針との整合', 'consistency with the privacy policy') }] },
    { p: [L('改定日：', 'Last revised: '), { fill: L('公開日', 'date of publication') }] },
  ];
  return { lang, title: L('脆弱性開示ポリシー（下書き）— ', 'Vulnerability disclosure policy (draft) — ') + f.vendor, blocks };
}

/** セキュリティアップデートの優先度決定方針: severity bands, target times, delivery by the kit's signed updates. */
export function updatePolicy(f: EvidenceFacts, lang: Lang): Doc {
  const L = say(lang);
  const c = f.config;
  const t = f.meta.updateTargets ?? {};
  const target = (n: number | undefined): Inline => days(n, lang, L('目標日数', 'target days'));
  const releaseUrl = typeof f.options.ota?.releaseUrl === 'string' ? (f.options.ota.releaseUrl as string) : undefined;
  const blocks: Block[] = [
    draftNote(f, lang, L('セキュリティアップデートの優先度決定方針', 'security update prioritisation policy'), 'S1.1-09'),
    { h: 2, text: L('1. 目的と対象', '1. Purpose and scope') },
    { p: [L('セキュリティ課題に対して迅速にアップデートを提供するため、アップデートの優先度を次のとおり決定します。', 'To fix security problems quickly, we set the priority of security updates as follows.')] },
    productTable(f, lang),
    { ul: [
      [L('対象：ファームウェアのアプリケーションイメージとそのアセット（管理ページ、共通パスワードのフィルタ等）。構成部品は SBOM（', 'In scope: the firmware\'s application image and its assets (the admin page, the common-password filter …). Its components are listed in the SBOMs ('), ...f.sboms.flatMap((s, i) => [...(i ? [', '] : []), { doc: s.file, plain: true, text: s.file } as Inline]), L('）に記載しています。', ').')],
      ...(f.runtimes.length
        ? [[L('ランタイム（', 'The runtime ('), f.runtimes.join(', '), L('）と固定ローダーは工場で書き込むもので、署名付きアップデートでは更新できません。これらの脆弱性への対応：', ') and the fixed loader are written at the factory; signed updates cannot replace them. How their vulnerabilities are handled: '), { fill: L('例：修理・交換、サービス拠点での書き換え', 'e.g. repair or replacement, reflashing by service') }]]
        : []),
    ] },

    { h: 2, text: L('2. 脆弱性情報の収集', '2. Where vulnerabilities come from') },
    { ul: [
      [L('脆弱性開示ポリシーに基づく報告（', 'Reports under the vulnerability disclosure policy ('), { doc: 'vulnerability-disclosure', text: L('脆弱性開示ポリシー', 'policy') }, L('）', ')')],
      [L('JVN、NVD（CVE）、構成部品の提供元（Kaluma、Espruino、SBOM に記載の npm パッケージ）のセキュリティ情報', 'JVN, the NVD (CVE), and the advisories of the components\' sources (Kaluma, Espruino, the npm packages in the SBOMs)'), ' ', { fill: L('確認の頻度と担当', 'how often, and who checks') }],
    ] },

    { h: 2, text: L('3. 深刻度と目標期間', '3. Severity and target times') },
    { p: [L('深刻度は CVSS v3.1 の基本値で評価し（CVSS v4.0 でもよい）、この製品の使われ方を踏まえて補正します。目標期間は、深刻度を確定してから修正版を公開するまでの日数です。', 'Severity is the CVSS v3.1 base score (or CVSS v4.0), adjusted for how this product is used. A target time counts the days from the severity\'s confirmation to the fixed release.')] },
    { table: { head: [L('深刻度', 'Severity'), L('CVSS 基本値', 'CVSS base score'), L('目標期間', 'Target time'), L('提供方法', 'How it is released')], rows: [
      [[L('緊急', 'Critical')], ['9.0–10.0'], [target(t.critical)], [L('臨時のセキュリティアップデート', 'an out-of-schedule security update')]],
      [[L('重要', 'High')], ['7.0–8.9'], [target(t.high)], [L('臨時のセキュリティアップデート', 'an out-of-schedule security update')]],
      [[L('警告', 'Medium')], ['4.0–6.9'], [target(t.medium)], [L('次の定例アップデート', 'the next scheduled update')]],
      [[L('注意', 'Low')], ['0.1–3.9'], [target(t.low)], [L('次の定例アップデート', 'the next scheduled update')]],
    ] } },
    { p: [L('優先度を上げる要因：', 'Raised by: ')] },
    { ul: [
      [L('悪用が確認されている、又は攻撃コードが公開されている', 'exploitation seen, or an exploit published')],
      [L('認証なしに、ネットワーク（LAN 又はインターネット）から悪用できる', 'exploitable over the network (LAN or internet) without authentication')],
      [L('守るべき情報資産（認証値、Wi-Fi の認証情報、機器の設定、利用者のデータ）の漏えいや改ざんにつながる', 'it leads to protected assets (authentication values, Wi-Fi credentials, settings, users\' data) being read or altered')],
      [L('機器が他への攻撃の踏み台になりうる', 'the device could be used to attack others')],
    ] },
    { p: [L('物理的なアクセスを要するもの（★1 の想定する脅威の外）は、優先度を下げることがありますが、次の定例アップデートで対応を検討します。', 'Problems that need physical access (outside ★1\'s threat model) may get a lower priority; they are considered for the next scheduled update.'), ' ', { check: L('補正の基準', 'the adjustment rules') }] },

    { h: 2, text: L('4. アップデートの提供方法', '4. How updates are delivered') },
    { ul: [
      [L('アップデートは署名付きパッケージとして提供します。機器は、適用の前に Ed25519 の署名、製造業者・型番・ボードの一致、より新しいバージョンであること、セキュリティカウンタ、ペイロードの SHA-256 を検証し、一つでも満たさないものは適用しません（docs/formats/update.md）。', 'Updates are signed packages. Before applying one, the unit checks its Ed25519 signature, that vendor, model and board are its own, that the version is newer, its security counter, and the payload\'s SHA-256; it applies none that fails a check (docs/formats/update.md).')],
      [L('脆弱性を修正するアップデートではセキュリティカウンタを上げ、修正前の脆弱なバージョンに戻せないようにします。', 'An update that fixes a vulnerability raises the security counter, so that the vulnerable versions cannot be installed again.')],
      [L('新しいイメージは試行起動し、正常に動作しなければ自動的に以前のイメージに戻ります。更新中に電源が切れても、機器は以前又は新しいバージョンで起動し、更新後のバージョンは電源を切っても維持されます。', 'A new image boots on trial and the unit returns to the previous one by itself if it does not run; a power cut during an update leaves the old or the new version running, and an installed version persists through power-off.')],
      [L('配信：', 'Channel: '), f.meta.updateChannel ? f.meta.updateChannel[lang] : { fill: L('パッケージとリリースノートの公開場所と方法', 'where and how packages and release notes are published') }],
      releaseUrl
        ? [L('機器は ', 'Units check '), { code: releaseUrl }, L(' を定期的に確認し、新しいアップデートを自動で適用します（利用者は管理ページ又は設定 API で止められます）。', ' regularly and install new updates by themselves (users can turn that off).')]
        : [L('このイメージには自動確認の URL（', 'This image sets no release URL ('), { code: 'ota({ releaseUrl })' }, L('）が設定されていないため、利用者が URL を設定するか、管理ページからパッケージを適用します。', '): users set one, or install packages from the admin page.'), ' ', { check: L('自動アップデートの提供有無', 'whether automatic updates are offered') }],
      [L('署名鍵はオフラインで管理し（', 'The signing key is kept offline ('), { code: 'hoshi keygen' }, L('）、漏えいした場合は鍵のローテーションで無効にします。', '), and rotated out if it leaks.'), ' ', { check: L('鍵の保管と担当', 'who keeps the key, and where') }],
    ] },

    { h: 2, text: L('5. 利用者への周知', '5. Telling users') },
    { p: [L('セキュリティアップデートを公開するときは、その内容、必要性、適用しない場合の影響を、', 'With each security update we publish what it does, why it is needed and what not applying it risks, at '), f.meta.releaseNotesUrl ? { link: f.meta.releaseNotesUrl } : { fill: L('リリースノートの掲載場所', 'where release notes are published') }, L(' で周知します（', ' ('), { doc: 'user-information', text: L('利用者向け情報', 'information for users') }, L('）。', ').')] },

    { h: 2, text: L('6. サポート期間', '6. Support period') },
    { p: [L('セキュリティアップデートは ', 'Security updates are provided until '), { code: c.supportEnd }, L(' まで提供します。', '.'), ' ', f.meta.supportPeriod?.policy ? f.meta.supportPeriod.policy[lang] : { fill: L('サポート終了時の方針', 'the end-of-support policy') }] },
    { h: 2, text: L('7. 見直し', '7. Review') },
    { p: [L('この方針は少なくとも年に一度、及び重大なインシデントの後に見直します。', 'We review this policy at least once a year, and after any serious incident.'), ' ', { check: L('見直しの時期と責任者', 'when, and by whom') }] },
  ];
  return { lang, title: L('セキュリティアップデートの優先度決定方針（下書き）— ', 'Security update prioritisation policy (draft) — ') + f.vendor, blocks };
}

/** 利用者向け情報: secure setup and use, updates, support period, disclaimers, disposal and wipe. */
export function userInformation(f: EvidenceFacts, lang: Lang): Doc {
  const L = say(lang);
  const c = f.config;
  const accounts = f.options.accounts ?? {};
  const minLength = typeof accounts.minLength === 'number' ? accounts.minLength : 8;
  const forced = accounts.forceChange !== false;
  const wipeButtons = (f.options.wipe?.button ?? {}) as Record<string, unknown>;
  const clearButtons = (accounts.clearButton ?? {}) as Record<string, unknown>;
  const releaseUrl = typeof f.options.ota?.releaseUrl === 'string';
  const deviceBoards = f.builds.filter((b) => b.target !== 'host');
  const userBoards = deviceBoards.length ? deviceBoards : f.builds;
  const buttonOf = (board: string, pins: Record<string, unknown>): string | undefined => {
    const pin = pins[board];
    if (pin === undefined) return undefined;
    const known = f.builds.find((b) => b.board === board)?.button;
    return known && String(known.pin) === String(pin) ? known.name[lang] : L('ピン ' + String(pin) + ' のボタン', 'the button on pin ' + String(pin));
  };
  const boardName = (board: string): string => f.builds.find((b) => b.board === board)?.name[lang] ?? board;

  const setup: Inline[][] = [
    [L('本体のラベルには、この機器だけの初期パスワード、セットアップキー（QR コード）', 'The label on the unit carries its own default password, its setup key (QR code)'), c.interfaces.setupAp ? L('、設定用アクセスポイントの名前とパスフレーズ', ' and the setup access point\'s name and passphrase') : '', L('が記載されています。ラベルの内容は他人に見られないよう保管してください。', '. Keep what the label says away from others.')],
  ];
  if (c.interfaces.setupAp) {
    setup.push([L('初めて電源を入れたとき（Wi-Fi が未設定のとき）、機器は設定用アクセスポイント（WPA2）を開きます。スマートフォンやパソコンをラベルの名前とパスフレーズで接続し、ラベルの QR コードを読み取って設定ページ（', 'At first power-on (while it has no Wi-Fi settings) the unit opens its setup access point (WPA2). Join it with the name and passphrase on the label, then scan the label\'s QR code to open the setup page ('), { code: 'http://192.168.4.1/' }, L('）を開きます。', ').')]);
  }
  setup.push(forced
    ? [L('管理ページでラベルの初期パスワードを使ってログインすると、パスワードの変更を求められます。変更するまで、ほかの操作はできません。', 'Log in on the admin page with the label\'s password: you are asked to choose a new one, and nothing else works until you have.')]
    : [L('ラベルの初期パスワードはこの機器だけのものです。管理ページの「Change password」でいつでも変更できます。', 'The label\'s password is unique to this unit; “Change password” on the admin page changes it at any time.'), ' ', { check: L('初回のパスワード変更を必須としない構成', 'a configuration without the forced first change') }]);
  setup.push([L('新しいパスワードは ' + minLength + ' 文字以上（64 文字まで、英数字と記号）にしてください。型番・シリアル番号・製造業者名を含むもの、よく使われるパスワード、同じ文字の繰り返しや「abcd」「4321」のような並び、ラベルの初期パスワードは使えません。', 'A new password has at least ' + minLength + ' characters (up to 64, printable ASCII). It may not contain the model, the serial number or the vendor\'s name, be a common password, repeat one character or run in sequence (“abcd”, “4321”), or be the label\'s password.')]);
  if (c.interfaces.setupAp) setup.push([L('続いて「Wi-Fi」で家庭のネットワークの名前とパスワードを設定すると、機器はそのネットワークに接続し、設定用アクセスポイントを閉じます。', 'Then set your home network\'s name and password under “Wi-Fi”: the unit joins it and closes its setup access point.')]);

  const use: Inline[][] = [
    [L('ログインに続けて失敗すると、次に試せるまでの待ち時間が段階的に長くなります（最長 1 時間）。電源を入れ直しても短くなりません。', 'After repeated failed logins, the wait before the next attempt grows step by step (up to an hour); restarting the unit does not shorten it.'), ...userBoards.filter((b) => buttonOf(b.board, clearButtons)).map((b) => L(boardName(b.board) + 'では、動作中に' + buttonOf(b.board, clearButtons)! + 'を 3 秒押すと待ち時間が解除されます。', ' On the ' + boardName(b.board) + ', holding ' + buttonOf(b.board, clearButtons)! + ' for 3 seconds while it runs clears the wait.'))],
    [L('ログイン後の管理操作（設定、パスワードの変更、データ消去）は、ログインとラベルのセットアップキーから導いた鍵で暗号化された管理チャネルで送られます。アップデートのパッケージは署名付きの公開データのため暗号化せずに送られ、改ざんは署名の検証で検出されます。管理ページそのものと公開の機器情報（', 'Administration after login (settings, password changes, the data wipe) travels through an admin channel encrypted with keys derived from the login and the label\'s setup key. Update packages are public signed data: they are sent unencrypted, and the signature check detects any change. The admin page itself and the public device information ('), { code: '/api/info' }, L('：型番、バージョン、サポート期限など）も暗号化されずに送られます。', ': model, version, support end …) are sent unencrypted too.')],
    [L('機器は家庭内などの LAN で使う前提です。ルータのポート転送などで、インターネットから直接アクセスできるようにしないでください。', 'The unit is meant for a LAN such as a home network: do not make it reachable from the internet (port forwarding on the router, for example).'), ' ', { check: L('想定する利用環境', 'the intended environment') }],
    [L('機器が待ち受けるのは次のものだけです：', 'The unit listens on these only: '), f.listening.join(', '), L('（', ' ('), { doc: 'interfaces.md', plain: true, text: L('インタフェースの宣言', 'interface declaration') }, L('）。', ').')],
  ];

  const wipeWays: Inline[][] = [
    [L('管理ページにログインし、「Factory data wipe」の確認欄にチェックを入れて「Wipe and restart」を押します。', 'Log in on the admin page, tick the box under “Factory data wipe” and press “Wipe and restart”.')],
  ];
  // The simulator is for development: a product's users see only the device builds (the host's when there is no other).
  for (const b of userBoards) {
    const button = buttonOf(b.board, wipeButtons);
    if (button) wipeWays.push([L(boardName(b.board) + '：' + button + 'を 10 秒以上押し続けます（パスワードを忘れた場合も使えます）。', boardName(b.board) + ': hold ' + button + ' for 10 seconds or more (this works without the password too).')]);
    else if (b.target !== 'host') wipeWays.push([L(boardName(b.board) + 'には消去用のボタンがありません。パスワードを忘れた場合の消去の手順：', 'The ' + boardName(b.board) + ' has no wipe button. How to wipe when the password is lost: '), { fill: L('サポートでの対応手順', 'the support procedure') }]);
  }
  wipeWays.push([L('開発者向け：管理チャネルを通して ', 'For developers: '), { code: 'POST /api/wipe' }, L(' に ', ' with '), { code: '{"confirm":"wipe"}' }, L(' を送ります。', ' through the admin channel.')]);

  const blocks: Block[] = [
    draftNote(f, lang, L('利用者向けのセキュリティ情報', 'security information for users'), 'S1.1-16'),
    { p: [L('取扱説明書、パッケージ、製品のウェブサイトなどで、この内容を利用者に周知してください。', 'Give users this information in the manual, on the package or on the product\'s web site.'), ' ', { fill: L('掲載場所', 'where it is published') }] },
    { h: 2, text: L('1. 製品', '1. The product') },
    productTable(f, lang),
    { p: [L('型番は本体のラベルと、管理ページの「Model」に表示されます。', 'The model is on the unit\'s label and under “Model” on the admin page.'), ' ', { check: L('本体への型番の表示', 'the model printed on the body') }] },

    { h: 2, text: L('2. 安全な初期設定', '2. Setting it up safely') },
    { ol: setup },
    { h: 2, text: L('3. 安全な使い方', '3. Using it safely') },
    { ul: use },
    { p: [{ fill: L('製品固有の注意（収集するデータ、連携するサービス等）', 'anything specific to the product (the data it collects, services it works with)') }] },

    { h: 2, text: L('4. セキュリティアップデート', '4. Security updates') },
    { ul: [
      [L('セキュリティアップデートを公開するときは、その内容、必要性、適用しない場合の影響を ', 'With each security update we publish what it does, why it is needed and what not applying it risks, at '), f.meta.releaseNotesUrl ? { link: f.meta.releaseNotesUrl } : { fill: L('リリースノートの掲載場所', 'where release notes are published') }, L(' でお知らせします。', '.')],
      [L('アップデートを適用しないと、修正済みの脆弱性が機器に残ります。第三者に機器を操作されたり、設定や Wi-Fi の認証情報を読み取られたり、機器がほかへの攻撃に使われたりするおそれがあります。', 'Without the update, the vulnerabilities it fixes stay in the unit: others could control it, read its settings or Wi-Fi credentials, or use it to attack others.')],
      [L('インストールされているバージョンは、管理ページの「Firmware version」で確認できます。', 'The installed version is shown under “Firmware version” on the admin page.')],
      releaseUrl
        ? [L('機器は定期的に新しいアップデートを確認し、自動で適用します（自動適用は設定で止められます）。', 'The unit checks for updates regularly and installs them by itself (this can be turned off).')]
        : [L('自動での確認：', 'Automatic checks: '), { fill: L('提供する場合は、確認先 URL の設定方法', 'if offered, how users set the release URL') }],
      [L('アップデートの入手先：', 'Where updates are published: '), f.meta.updateChannel ? f.meta.updateChannel[lang] : { fill: L('入手先と通知の方法', 'where, and how users are told') }],
      [L('手動での適用：入手したアップデートパッケージ（.hoshi ファイル）を管理ページの「Firmware update」で選び、「Upload and install」を押します。', 'By hand: choose the update package (.hoshi file) under “Firmware update” on the admin page and press “Upload and install”.')],
      [L('機器は適用の前に署名を検証し、改ざんされたもの、この機種用でないもの、古いバージョンは適用しません。適用中に電源が切れても、以前又は新しいバージョンで起動します。設定とパスワードはそのまま残ります。', 'The unit verifies the signature first and refuses a package that was altered, is for another model or is older. A power cut during the update leaves the old or the new version running; settings and password stay as they were.')],
    ] },

    { h: 2, text: L('5. サポート期間', '5. Support period') },
    { p: [L('セキュリティアップデートの提供期限は ', 'Security updates are provided until '), { code: c.supportEnd }, L(' です（管理ページの「Security updates until」にも表示されます）。', ' (also shown under “Security updates until” on the admin page).'), ' ', f.meta.supportPeriod?.policy ? f.meta.supportPeriod.policy[lang] : { fill: L('サポート終了時の方針（例：期限後の継続利用のリスクと、買い替えの案内）', 'the end-of-support policy (e.g. the risk of using it afterwards, and replacement)') }] },

    { h: 2, text: L('6. 免責事項', '6. Disclaimers') },
    { ul: [
      [L('当社が提供したセキュリティアップデートを適用しなかったことにより生じた事故や障害について、当社は責任を負いかねます。', 'We are not liable for incidents or failures that result from not applying a security update we have provided.'), ' ', { check: L('法務確認', 'legal review') }],
      [L('一般的に想定される事故や障害（第三者による不正アクセス、停電、通信の障害、利用者による設定の誤り等）に関する免責：', 'Disclaimers for incidents and failures that can generally be expected (unauthorised access by others, power or network failures, configuration mistakes …): '), { fill: L('免責の内容', 'the disclaimer') }],
      [L('JC-STAR の適合ラベルは、定められた適合基準に適合していることを示すもので、あらゆる攻撃を防げることを保証するものではありません。', 'A JC-STAR label shows that the product meets the set criteria; it does not guarantee that every attack is stopped.')],
    ] },

    { h: 2, text: L('7. 廃棄・譲渡・返却するとき', '7. Disposal, resale or return') },
    { p: [L('機器には、設定したパスワードの照合用データ、Wi-Fi のネットワーク名とパスワード、機器の設定やデータ、セキュリティログ（接続元のアドレスを含む）が保存されています。消去しないまま手放すと、入手した人にこれらを読み取られ、例えば家庭のネットワークに侵入されるおそれがあります。手放す前に、必ずデータを消去してください。', 'The unit stores the check data of the password you set, your Wi-Fi network\'s name and password, its settings and data, and a security log (with the addresses of clients). Whoever gets a unit that was not wiped could read them and, for example, join your home network. Always wipe it before it leaves your hands.')] },
    { p: [{ strong: L('消去の方法', 'How to wipe') }] },
    { ul: wipeWays },
    { p: [L('消去されるもの：設定したパスワード、Wi-Fi の設定、アップデートの確認設定、機器の設定とデータ、セキュリティログ。消去後、機器は再起動し、ラベルの初期パスワード', 'What is erased: the password you set, the Wi-Fi settings, the update-check settings, the unit\'s settings and data, the security log. The unit then restarts with the label\'s password'), c.interfaces.setupAp ? L('と設定用アクセスポイントが再び有効になります。', ' and the setup access point back.') : L('が再び有効になります。', ' back.')] },
    { p: [L('残るもの：インストール済みのファームウェアとそのバージョン、機器固有の識別情報と鍵（ラベルの情報に対応するもの）。', 'What stays: the installed firmware and its version, and the unit\'s own identity and keys (those matching its label).')] },
    { p: [L('消去は、利用者のデータを機器のソフトウェアから読み出せなくするものです。フラッシュメモリを取り外すなど物理的に読み出す攻撃への対策ではありません。', 'The wipe removes your data from what the unit\'s software can reach; it is no defence against reading the flash memory physically.'), ' ', { fill: L('廃棄の方法（自治体の区分、回収の案内）', 'how to dispose of it (local rules, take-back)') }] },

    { h: 2, text: L('8. お問い合わせ', '8. Contact') },
    { table: { head: [L('窓口', 'For'), L('連絡先', 'Contact')], rowHeads: true, rows: [
      [[L('製品のサポート', 'Product support')], contactParts(f.meta.supportContact, lang, L('問合せ窓口', 'support contact'))],
      [[L('脆弱性の報告', 'Reporting a vulnerability')], [...contactParts(f.meta.vulnerabilityReport, lang, L('届出窓口', 'report contact')), { br: true }, L('脆弱性開示ポリシー：', 'Vulnerability disclosure policy: '), { link: c.vulnerabilityDisclosureUrl }]],
    ] } },
  ];
  return { lang, title: L('セキュリティに関する利用者向け情報（下書き）— ', 'Security information for users (draft) — ') + c.model, blocks };
}
