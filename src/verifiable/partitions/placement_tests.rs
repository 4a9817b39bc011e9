use super::*;
use crate::verifiable::test_model as model;

fn digest(count: u64, partitioning: Option<Partitioning>) -> OwnerDigest {
    let mut digest = OwnerDigest::new(None);
    digest.records.count = count;
    digest.partitions = partitioning;
    digest
}

fn installed(model: &PartitionModel) -> Option<Partitioning> {
    Some(Partitioning {
        model: Some(model.clone()),
        next: None,
        ..Partitioning::default()
    })
}

#[test]
fn an_upload_trains_on_an_empty_knowledge_base_and_follows_a_partitioned_one() {
    let empty = digest(0, None);
    let auto = Some(PartitionCount::Auto);
    assert_eq!(
        empty.upload_partitions("kb", auto).unwrap(),
        UploadPartitions::Train {
            partitions: PartitionCount::Auto
        }
    );
    let three = Some(PartitionCount::Exactly(3));
    assert_eq!(
        empty.upload_partitions("kb", three).unwrap(),
        UploadPartitions::Train {
            partitions: PartitionCount::Exactly(3)
        }
    );
    let follow = UploadPartitions::Follow { note: None };
    assert_eq!(empty.upload_partitions("kb", None).unwrap(), follow);

    let four = model(4);
    let partitioned = digest(30, installed(&four));
    assert_eq!(partitioned.upload_partitions("kb", auto).unwrap(), follow);
    match partitioned.upload_partitions("kb", Some(PartitionCount::Exactly(6))) {
        Ok(UploadPartitions::Follow { note: Some(note) }) => {
            assert!(note.contains("already has 4 partitions"), "{note}")
        }
        other => panic!("{other:?}"),
    }

    let unpartitioned = digest(30, None).upload_partitions("kb", auto);
    let refused = unpartitioned.unwrap_err().to_string();
    assert!(
        refused.contains("holds 30 records without partitions"),
        "{refused}"
    );
    let mut counting = digest(0, None);
    counting.counted_field = Some("tag1".into());
    assert!(counting.upload_partitions("kb", auto).is_err());
    // A rebuild under way on an empty knowledge base: another writer is partitioning it.
    let under_way = digest(
        0,
        Some(Partitioning {
            model: None,
            next: Some(four),
            ..Partitioning::default()
        }),
    );
    assert!(matches!(
        under_way.upload_partitions("kb", auto),
        Err(Error::ConcurrentWrite(_))
    ));
}

#[test]
fn a_write_checks_its_placement_against_the_digest_now() {
    let (four, other) = (model(4), model(3));
    let empty = digest(0, None);
    let partitioned = digest(12, installed(&four));
    // Followed partitions must still be the knowledge base's.
    assert_eq!(
        empty
            .check_placement(None, false, PlacedWrite::Upload)
            .unwrap(),
        None
    );
    assert_eq!(
        partitioned
            .check_placement(Some(&four), false, PlacedWrite::Update)
            .unwrap(),
        None
    );
    let moved = partitioned
        .check_placement(Some(&other), false, PlacedWrite::Update)
        .unwrap_err();
    assert!(
        matches!(&moved, Error::ConcurrentWrite(m) if m.contains("update the records again")
        && m.contains("under another partition model"))
    );
    assert!(partitioned
        .check_placement(None, false, PlacedWrite::Upload)
        .is_err());
    // A trained model is installed by the first write, then followed.
    assert_eq!(
        empty
            .check_placement(Some(&four), true, PlacedWrite::Upload)
            .unwrap(),
        installed(&four)
    );
    assert_eq!(
        partitioned
            .check_placement(Some(&four), true, PlacedWrite::Upload)
            .unwrap(),
        None
    );
    for changed in [digest(12, installed(&other)), digest(5, None)] {
        let error = changed
            .check_placement(Some(&four), true, PlacedWrite::Upload)
            .unwrap_err();
        assert!(matches!(&error, Error::ConcurrentWrite(m) if m.contains("upload the rest again")));
    }
    assert!(partitioned
        .check_placement(None, true, PlacedWrite::Upload)
        .is_err());
}
