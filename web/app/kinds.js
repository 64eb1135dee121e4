// The words the dashboard shows for the log's record kinds and the inventory's event kinds. The
// server decides what is valid (src/ledger/records.cc, include/flopline/rules/regime.h); these add
// labels, the clause each record serves and a starting template for its document. The browser test
// checks that every kind here is one the server accepts.

// Records anyone with a filing role may append (the log's own kinds are left out).
export const EVIDENCE_KINDS = [
  { kind: 'ssp', label: 'Safety and security protocol', serves: 'SB 1047 §22603(a)(3)', model: true, fields: [] },
  { kind: 'ssp-published', label: 'Published protocol (redacted)', serves: 'SB 1047 §22603(a)(7)(A)', model: true, fields: [] },
  { kind: 'capability-assessment', label: 'Capability assessment', serves: 'SB 1047 §22603(b)(1)', model: true, fields: [] },
  { kind: 'test-results', label: 'Test results', serves: 'SB 1047 §22603(b)(2)', model: true, fields: [] },
  { kind: 'audit-report', label: 'Third-party audit report', serves: 'SB 1047 §22603(e)(4)', model: true, fields: [] },
  { kind: 'statement-of-compliance', label: 'Statement of compliance', serves: 'SB 1047 §22603(f)(1)', model: true, fields: ['signer', 'role'] },
  { kind: 'incident-report', label: 'Incident report (72 h)', serves: 'SB 1047 §22603(g)', model: true, fields: ['discovered_at', 'reported_at'] },
  { kind: 'critical-incident-report', label: 'Critical safety incident report', serves: 'SB 53 §22757.13(c); NY GBL §1422(3)', model: true, fields: [] },
  { kind: 'shutdown-drill', label: 'Shutdown drill', serves: 'SB 1047 §22603(a)(2)', model: false, fields: ['scope'] },
  { kind: 'shutdown-order', label: 'Shutdown order', serves: 'SB 1047 §22603(a)(2)', model: false, fields: ['scope', 'reason'] },
  { kind: 'whistleblower-record', label: 'Whistleblower disclosure', serves: 'SB 1047 §22607(e)', model: false, fields: [] },
  { kind: 'frontier-framework', label: 'Frontier AI framework', serves: 'SB 53 §22757.12(a)', model: false, fields: [] },
  { kind: 'transparency-report', label: 'Transparency report', serves: 'SB 53 §22757.12(c)', model: true, fields: [] },
  { kind: 'raise-frontier-framework', label: 'RAISE frontier AI framework', serves: 'NY GBL §1421(1)', model: true, fields: [] },
  { kind: 'commission-notification', label: 'Notification to the Commission', serves: 'EU AI Act Art. 52(1)', model: true, fields: [] },
  { kind: 'technical-documentation', label: 'Technical documentation', serves: 'EU AI Act Art. 53(1)(a), Annex XI', model: true, fields: [] },
  { kind: 'document-signature', label: 'Signature of a filed document', serves: 'SB 1047 §22603(f)(1), (e)(4)(D)', model: true,
    fields: ['document_index', 'document_leaf_hash', 'signer', 'role', 'signed_at'] },
];

const BY_KIND = new Map(EVIDENCE_KINDS.map((k) => [k.kind, k]));
// The log's own kinds, shown in the list but never offered in the form.
const INTERNAL = {
  'threshold-projected': { label: 'Compute line projected', serves: 'EU AI Act Art. 52(1); SB 1047 §22603(a)' },
  'threshold-crossed': { label: 'Compute line crossed', serves: 'EU AI Act Art. 52(1); SB 1047 §22602(e)' },
  'meter-state': { label: 'Compute meter state', serves: 'SB 1047 §22602(e)' },
  'model-file': { label: 'Model file', serves: 'SB 1047 §22602(e), (f)' },
};
export const evidenceKind = (kind) => BY_KIND.get(kind) ?? INTERNAL[kind] ?? null;

// Events of a model's history that start or discharge the law's clocks.
export const EVENT_KINDS = [
  ['training-started', 'Training started'],
  ['training-ended', 'Training ended'],
  ['released', 'Released (made available)'],
  ['internal-use', 'Used internally beyond training and evaluation'],
  ['incident-discovered', 'Safety incident discovered'],
  ['incident-reported', 'Safety incident reported'],
  ['imminent-risk-discovered', 'Imminent risk discovered'],
  ['authority-notified', 'Authority notified'],
  ['compute-estimated', 'Compute estimated to meet a line'],
  ['commission-notified', 'Commission notified (EU)'],
  ['ssp-published', 'Safety and security protocol published'],
  ['ssp-modified', 'Protocol modified'],
  ['ssp-update-published', 'Protocol update published'],
  ['ssp-reviewed', 'Protocol reviewed'],
  ['framework-published', 'Frontier framework published'],
  ['framework-modified', 'Framework modified'],
  ['framework-update-published', 'Framework update published'],
  ['framework-reviewed', 'Framework reviewed'],
  ['transparency-report-published', 'Transparency report published'],
  ['internal-use-summary-sent', 'Internal-use summary sent'],
  ['audit-report-filed', 'Audit report filed'],
  ['statement-filed', 'Statement of compliance filed'],
  ['cybersecurity-attested', 'Cybersecurity protections in place'],
  ['shutdown-drill', 'Shutdown capability drilled'],
  ['capability-assessment-recorded', 'Capability assessment recorded'],
  ['technical-documentation-prepared', 'Technical documentation prepared'],
  ['safeguards-reevaluated', 'Safeguards re-evaluated'],
  ['safeguards-implemented', 'Safeguards implemented'],
  ['attribution-implemented', 'Attribution implemented'],
  ['senior-personnel-designated', 'Senior personnel designated'],
  ['disclosure-statement-filed', 'Disclosure statement filed'],
  ['disclosure-information-changed', 'Disclosure information changed'],
  ['ownership-transferred', 'Ownership transferred'],
  ['authorised-representative-appointed', 'Authorised representative appointed (EU)'],
  ['copyright-policy-adopted', 'Copyright policy adopted (EU)'],
  ['training-content-summary-published', 'Training content summary published (EU)'],
  ['downstream-information-prepared', 'Downstream information prepared (EU)'],
  ['systemic-risk-assessed', 'Systemic risk assessed (EU)'],
  ['serious-incident-reported', 'Serious incident reported (EU)'],
  ['positive-safety-determination', 'Positive safety determination (SB 1047, as introduced)'],
  ['limited-duty-exemption', 'Limited duty exemption (SB 1047, Senate version)'],
  ['covered-guidance-implemented', 'Covered guidance implemented (SB 1047, earlier versions)'],
  ['certification-filed', 'Certification of compliance filed (SB 1047, earlier versions)'],
  ['withdrawn', 'Withdrawn from the market'],
];
export const eventLabel = (kind) => EVENT_KINDS.find(([k]) => k === kind)?.[1] ?? kind;
