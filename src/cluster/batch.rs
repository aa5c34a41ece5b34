//! Journal records as stream messages. A message's payload is whole records as JSON
//! Lines, byte for byte what a file journal holds for them. An append is one message
//! while it fits under [`MAX_MESSAGE_BYTES`]; a longer one (a long list of delivery
//! receipts or subscribers, facts that each stand alone) is cut between records, each
//! part ending its own batch, so every message replays whole.

use sha2::{Digest, Sha256};

use crate::journal::Record;

/// The most a message holds: well under NATS's default 1 MB `max_payload`, headers
/// included.
pub const MAX_MESSAGE_BYTES: usize = 512 * 1024;

/// One message to append: its payload and the records it holds, as they will replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub payload: Vec<u8>,
    pub records: Vec<Record>,
}

/// The messages an append becomes. Records are numbered already; the last record of
/// each message ends a batch (`more` is false), so a message never waits for another.
pub fn encode(records: Vec<Record>, max_bytes: usize) -> Result<Vec<Message>, serde_json::Error> {
    let mut out: Vec<Message> = Vec::new();
    let mut current = Message {
        payload: Vec::new(),
        records: Vec::new(),
    };
    let mut lines = Vec::with_capacity(records.len());
    for r in records {
        let mut line = serde_json::to_vec(&r)?;
        line.push(b'\n');
        lines.push((r, line));
    }
    for (mut record, line) in lines {
        if !current.records.is_empty() && current.payload.len() + line.len() > max_bytes {
            close(&mut current)?;
            out.push(std::mem::replace(
                &mut current,
                Message {
                    payload: Vec::new(),
                    records: Vec::new(),
                },
            ));
        }
        // Written as the file writes it; the flag is settled when the message closes.
        record.more = true;
        current.payload.extend_from_slice(&line);
        current.records.push(record);
    }
    if !current.records.is_empty() {
        close(&mut current)?;
        out.push(current);
    }
    Ok(out)
}

/// End a message's batch at its last record, and write its payload from its records.
fn close(m: &mut Message) -> Result<(), serde_json::Error> {
    let last = m.records.len() - 1;
    m.payload.clear();
    for (i, r) in m.records.iter_mut().enumerate() {
        r.more = i < last;
        serde_json::to_writer(&mut m.payload, &*r)?;
        m.payload.push(b'\n');
    }
    Ok(())
}

/// The records a message holds, checked: whole lines, numbered one after another, the
/// last ending its batch.
pub fn decode(payload: &[u8]) -> Result<Vec<Record>, String> {
    if payload.last() != Some(&b'\n') {
        return Err("the message does not end with a whole line".into());
    }
    let mut records: Vec<Record> = Vec::new();
    for (i, line) in payload[..payload.len() - 1]
        .split(|b| *b == b'\n')
        .enumerate()
    {
        let r: Record = serde_json::from_slice(line)
            .map_err(|e| format!("line {} is not a valid event: {e}", i + 1))?;
        if let Some(prev) = records.last()
            && r.seq != prev.seq + 1
        {
            return Err(format!(
                "line {} has sequence number {} where {} was expected",
                i + 1,
                r.seq,
                prev.seq + 1
            ));
        }
        records.push(r);
    }
    match records.last() {
        None => Err("the message holds no record".into()),
        Some(r) if r.more => Err("the message's last record does not end its batch".into()),
        Some(_) => Ok(records),
    }
}

/// The id JetStream de-duplicates on: derived from the payload, which holds the
/// records' sequence numbers and times, so the same append sent twice (a retry after a
/// lost acknowledgement, an import run again) has the same id, and two different facts
/// never do.
pub fn message_id(payload: &[u8]) -> String {
    let digest = Sha256::digest(payload);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("fw-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Event;

    fn records(n: u64) -> Vec<Record> {
        let at = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .to_utc();
        (1..=n)
            .map(|seq| Record {
                seq,
                at,
                more: seq < n,
                event: Event::DeliveryRetried {
                    id: format!("d{seq}"),
                },
            })
            .collect()
    }

    #[test]
    fn a_small_append_is_one_message_with_the_file_journals_bytes() {
        let rs = records(3);
        let mut file = Vec::new();
        for r in &rs {
            serde_json::to_writer(&mut file, r).unwrap();
            file.push(b'\n');
        }
        let msgs = encode(rs.clone(), MAX_MESSAGE_BYTES).unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].payload, file);
        assert_eq!(decode(&msgs[0].payload).unwrap(), rs);
    }

    #[test]
    fn a_long_append_is_cut_between_records_and_each_part_replays_whole() {
        let rs = records(100);
        let msgs = encode(rs.clone(), 600).unwrap();
        assert!(msgs.len() > 5, "{}", msgs.len());
        let mut all = Vec::new();
        for m in &msgs {
            assert!(m.payload.len() <= 600);
            let got = decode(&m.payload).unwrap();
            assert_eq!(got, m.records);
            assert!(!got.last().unwrap().more);
            all.extend(got);
        }
        let seqs: Vec<u64> = all.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, (1..=100).collect::<Vec<_>>());
        assert_eq!(all.iter().filter(|r| !r.more).count(), msgs.len());
    }

    #[test]
    fn the_same_append_has_the_same_id_and_another_does_not() {
        let a = encode(records(2), MAX_MESSAGE_BYTES).unwrap();
        let b = encode(records(2), MAX_MESSAGE_BYTES).unwrap();
        let c = encode(records(3), MAX_MESSAGE_BYTES).unwrap();
        assert_eq!(message_id(&a[0].payload), message_id(&b[0].payload));
        assert_ne!(message_id(&a[0].payload), message_id(&c[0].payload));
    }

    #[test]
    fn damaged_messages_are_refused() {
        let m = encode(records(3), MAX_MESSAGE_BYTES).unwrap().remove(0);
        assert!(decode(&m.payload[..m.payload.len() - 1]).is_err());
        let text = String::from_utf8(m.payload.clone()).unwrap();
        let gap = text.replace("\"seq\":2", "\"seq\":5");
        assert!(
            decode(gap.as_bytes())
                .unwrap_err()
                .contains("sequence number")
        );
        let open = text.replace("\"seq\":3,", "\"seq\":3,\"more\":true,");
        assert!(decode(open.as_bytes()).is_err());
    }
}
