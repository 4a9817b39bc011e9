use super::*;
use crate::verifiable::{in_partition, open_document, test_codec, LayoutKind};

/// 40 records of the test codec's 8 dimensions in two clear clusters, each in partition
/// `placed(i)` (none where it gives none).
fn stored(placed: impl Fn(usize) -> Option<u32>) -> (Vec<RebuildRecord>, Zeroizing<Vec<u8>>) {
    let mut bits = Zeroizing::new(Vec::new());
    let mut records = Vec::new();
    for i in 0..40usize {
        let side = (i % 2) as u8;
        let noise = (i / 2 % 4) as u8;
        bits.extend_from_slice(&[side, side, side, side, noise & 1, noise >> 1, 0, 1 - side]);
        let document = match placed(i) {
            Some(p) => in_partition(None, p).unwrap(),
            None => Document::default(),
        };
        records.push(RebuildRecord {
            chunk_id: 100 + i as i64,
            nonce: RecordNonce(1_000 + i as u128),
            document,
        });
    }
    (records, bits)
}

/// The test codec with its knowledge base's layout known, as an opened digest gives it.
fn codec() -> RecordCodec {
    test_codec().with_layout(LayoutKind::TwoBit)
}

fn two_partitions() -> TrainOptions {
    TrainOptions {
        partitions: 2,
        ..TrainOptions::default()
    }
}

/// Runs every step over a digest the steps advance, as an honest service would.
fn run(
    codec: &RecordCodec,
    rebuild: &mut PartitionsRebuild,
    digest: &mut OwnerDigest,
) -> Vec<RebuildWrite> {
    let mut writes = Vec::new();
    while rebuild.step().is_some() {
        assert_eq!(rebuild.conflict(digest), None);
        let write = rebuild.write(codec).unwrap();
        if let Some(partitions) = &write.partitions {
            digest.partitions = Some(partitions.clone());
        }
        digest.version += 1;
        rebuild.written();
        writes.push(write);
    }
    writes
}

#[test]
fn a_fresh_rebuild_installs_moves_in_batches_and_finishes() {
    let codec = codec();
    let (records, bits) = stored(|_| None);
    let mut digest = OwnerDigest::new(None);
    digest.version = 3;
    let mut rebuild = PartitionsRebuild::plan(
        &codec,
        &digest,
        records.clone(),
        bits,
        Some(2),
        &two_partitions(),
        15,
    )
    .unwrap();
    let report = rebuild.report();
    assert_eq!(
        (
            report.partitions,
            report.records,
            report.moved,
            report.resumed
        ),
        (2, 40, 40, false)
    );
    assert_eq!(rebuild.step(), Some(RebuildStep::Install));
    let writes = run(&codec, &mut rebuild, &mut digest);
    // Install, three batches of at most 15, finish: each one version on.
    assert_eq!(writes.len(), 5);
    assert_eq!(digest.version, 8);
    let installed = writes[0].partitions.as_ref().unwrap();
    assert!(installed.model.is_none());
    assert!(installed.next.as_ref().unwrap().same_as(rebuild.target()));
    let sizes: Vec<usize> = writes[1..4].iter().map(|w| w.updates.len()).collect();
    assert_eq!(sizes, vec![15, 15, 10]);
    let done = writes[4].partitions.as_ref().unwrap();
    assert!(done.next.is_none() && done.model.as_ref().unwrap().same_as(rebuild.target()));
    assert_eq!(rebuild.step(), None);
    assert!(rebuild.write(&codec).unwrap().partitions.is_none());

    // Every moved record under a fresh nonce, its document sealed under it in its new
    // partition; the old pair taken out.
    let keys = codec.keys().unwrap();
    for write in &writes[1..4] {
        for ((chunk, ((id, nonce), value)), ((old_id, old_nonce), old_value)) in
            write.updates.iter().zip(&write.removed)
        {
            let record = &records[(*id - 100) as usize];
            assert_eq!((old_id, old_nonce, old_value), (id, &record.nonce, &None));
            assert_ne!(*nonce, record.nonce);
            assert_eq!(chunk["chunk_id"], *id);
            let sealed = chunk["chunk_content"].as_str().unwrap();
            let opened = open_document(keys, "kb", Some(*nonce), sealed).unwrap();
            assert_eq!(
                document_partition(&opened).map(partition_value),
                value.clone()
            );
            assert!(open_document(keys, "kb", Some(record.nonce), sealed).is_err());
            assert_ne!(
                chunk["meta_data"][PARTITION_FIELD],
                Value::String(value.clone().unwrap())
            );
        }
    }
}

#[test]
fn a_rebuild_under_way_resumes_with_its_model_and_moves_only_what_is_not_in_place() {
    let codec = codec();
    let (records, bits) = stored(|_| None);
    let digest = OwnerDigest::new(None);
    let first = PartitionsRebuild::plan(
        &codec,
        &digest,
        records,
        bits,
        Some(2),
        &two_partitions(),
        500,
    )
    .unwrap();
    let target = first.target().clone();
    // Half the records already moved by the rebuild that was cut short.
    let (_, bits) = stored(|_| None);
    let vectors: Vec<&[u8]> = bits.chunks(8).collect();
    let placed = target.assign_balanced(&vectors).unwrap();
    let (records, bits) = stored(|i| if i < 20 { Some(placed[i]) } else { None });
    let mut digest = OwnerDigest::new(None);
    digest.version = 9;
    digest.counted_field = Some(PARTITION_FIELD.to_owned());
    digest.partitions = Some(Partitioning {
        model: None,
        next: Some(target.clone()),
        ..Partitioning::default()
    });
    let three = TrainOptions {
        partitions: 3,
        ..TrainOptions::default()
    };
    let mut rebuild =
        PartitionsRebuild::plan(&codec, &digest, records, bits, Some(3), &three, 500).unwrap();
    assert!(
        rebuild.target().same_as(&target),
        "the options of a resumed rebuild are unused"
    );
    assert_eq!(
        (rebuild.report().moved, rebuild.report().resumed),
        (20, true)
    );
    assert!(matches!(rebuild.step(), Some(RebuildStep::Move(batch)) if batch.len() == 20));
    // A digest another writer moved on, or one no longer moving to the target, stops it.
    let mut moved_on = digest.clone();
    moved_on.version = 10;
    let conflict = rebuild.conflict(&moved_on).unwrap();
    assert!(
        conflict.contains("at version 10, the rebuild left it at 9"),
        "{conflict}"
    );
    let mut other = digest.clone();
    other.partitions = None;
    assert!(rebuild.conflict(&other).is_some());
    let writes = run(&codec, &mut rebuild, &mut digest);
    assert_eq!(writes.len(), 2);
    assert_eq!(digest.version, 11);
}

#[test]
fn a_rebuild_refuses_what_it_cannot_partition() {
    let codec = codec();
    let (records, bits) = stored(|_| None);
    let mut counting = OwnerDigest::new(None);
    counting.counted_field = Some("tag1".to_owned());
    let refused = PartitionsRebuild::plan(
        &codec,
        &counting,
        records.clone(),
        bits.clone(),
        None,
        &two_partitions(),
        500,
    )
    .unwrap_err()
    .to_string();
    assert!(refused.contains("counts tag1 per value"), "{refused}");
    let digest = OwnerDigest::new(None);
    let empty = PartitionsRebuild::plan(
        &codec,
        &digest,
        Vec::new(),
        Zeroizing::new(Vec::new()),
        None,
        &two_partitions(),
        500,
    )
    .unwrap_err()
    .to_string();
    assert!(empty.contains("holds no records to partition"), "{empty}");
    let short = Zeroizing::new(bits[..bits.len() - 1].to_vec());
    assert!(matches!(
        PartitionsRebuild::plan(
            &codec,
            &digest,
            records,
            short,
            None,
            &two_partitions(),
            500
        ),
        Err(Error::ShapeMismatch(_))
    ));
}

#[test]
fn over_sealed_vectors_a_page_moves_whole_and_no_write_splits_it() {
    let codec = codec();
    let (records, bits) = stored(|_| None);
    let first = PartitionsRebuild::plan(
        &codec,
        &OwnerDigest::new(None),
        records,
        bits,
        Some(2),
        &two_partitions(),
        500,
    )
    .unwrap();
    let target = first.target().clone();
    let (_, bits) = stored(|_| None);
    let vectors: Vec<&[u8]> = bits.chunks(8).collect();
    let placed = target.assign_balanced(&vectors).unwrap();
    // Records 0 to 19 in place, in pages 0 and 1; record 25, in place, shares page 2 with
    // records that are not.
    let (records, bits) = stored(|i| (i < 20 || i == 25).then(|| placed[i]));
    let mut digest = OwnerDigest::new(None);
    digest.counted_field = Some(PARTITION_FIELD.to_owned());
    digest.partitions = Some(Partitioning {
        next: Some(target.clone()),
        ..Partitioning::default()
    });
    let pages: Vec<usize> = (0..40).map(|i| i / 10).collect();
    let mut rebuild =
        PartitionsRebuild::plan(&codec, &digest, records, bits, None, &two_partitions(), 5)
            .unwrap()
            .in_pages(pages.clone())
            .unwrap();
    assert_eq!(rebuild.report().moved, 19);
    let mut batches = Vec::new();
    while let Some(step) = rebuild.step() {
        if let RebuildStep::Move(batch) = &step {
            let mut moved: Vec<usize> = batch.iter().map(|&(i, _)| i).collect();
            moved.sort_unstable();
            for &(i, to) in batch {
                assert_eq!(to, placed[i], "record {i} goes to its target partition");
            }
            batches.push(moved);
        }
        rebuild.written();
    }
    let pages_moved: Vec<Vec<usize>> = batches
        .iter()
        .map(|b| b.iter().map(|&i| pages[i]).collect())
        .collect();
    assert_eq!(pages_moved, [vec![2; 10], vec![3; 10]]);
    assert!(rebuild.record(25).is_some() && rebuild.record(40).is_none());
    let short = PartitionsRebuild::plan(
        &codec,
        &digest,
        stored(|_| None).0,
        stored(|_| None).1,
        None,
        &two_partitions(),
        5,
    )
    .unwrap();
    assert!(short.in_pages(vec![0; 39]).is_err());
}
