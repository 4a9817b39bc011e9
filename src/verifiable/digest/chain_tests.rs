use super::*;
use crate::verifiable::{test_codec, DigestChange, RecordCodec, RecordNonce};

/// `n` versions written one on another from `from`, each adding record `tag + i`.
fn history(codec: &RecordCodec, from: &OwnerDigest, n: usize, tag: i64) -> Vec<OwnerDigest> {
    let mut versions = Vec::new();
    let mut current = from.clone();
    for i in 0..n as i64 {
        let change = DigestChange {
            added: vec![((tag + i, RecordNonce((tag + i) as u128)), None)],
            ..DigestChange::default()
        };
        current = codec.next_digest(&current, &change).unwrap().0;
        versions.push(current.clone());
    }
    versions
}

fn links(versions: &[OwnerDigest]) -> Vec<DigestLink> {
    versions.iter().map(|d| d.link().unwrap()).collect()
}

fn kind(result: Result<()>) -> FailureKind {
    match result {
        Err(Error::AnswerRejected(rejection)) => rejection.failures[0].kind,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_later_version_extends_every_earlier_one_through_the_links() {
    let codec = test_codec();
    let main = history(&codec, &OwnerDigest::default(), 5, 100);
    let all = links(&main);
    for (i, seen) in main.iter().enumerate() {
        for shown in &main[i..] {
            let after: Vec<_> = all
                .iter()
                .filter(|l| l.version > seen.version)
                .cloned()
                .collect();
            shown.check_extends(seen, &after).unwrap();
            // Given in any order, and with the service's other links beside them.
            let reversed: Vec<_> = all.iter().rev().cloned().collect();
            shown.check_extends(seen, &reversed).unwrap();
        }
    }
    // Written on the seen version itself: no link needed.
    main[1].check_extends(&main[0], &[]).unwrap();
}

#[test]
fn another_branch_is_a_fork_whatever_links_the_service_gives() {
    let codec = test_codec();
    let main = history(&codec, &OwnerDigest::default(), 2, 100);
    // Restored to version 1 and written twice from there by another machine.
    let branch = history(&codec, &main[0], 2, 200);
    let (seen, shown) = (&main[1], &branch[1]);
    assert_eq!((seen.version, shown.version), (2, 3));
    // The branch's own links lead back through version 1, below the one seen.
    assert_eq!(
        kind(shown.check_extends(seen, &links(&branch))),
        FailureKind::Forked
    );
    // Version 2 of the main line offered as the link of version 2: the chain does not match.
    assert_eq!(
        kind(shown.check_extends(seen, &links(&main))),
        FailureKind::Forked
    );
    // A link made up to say that version 3 was written on version 2.
    let forged = DigestLink {
        version: 2,
        prev: 2,
        link: BASE64.encode([7; 32]),
    };
    assert_eq!(
        kind(shown.check_extends(seen, &[forged])),
        FailureKind::Forked
    );
    let mut relabelled = branch[1].link().unwrap();
    relabelled.version = 2;
    assert_eq!(
        kind(shown.check_extends(seen, &[relabelled])),
        FailureKind::Forked
    );
}

#[test]
fn a_missing_link_is_refused_and_a_loop_of_links_ends() {
    let codec = test_codec();
    let main = history(&codec, &OwnerDigest::default(), 4, 100);
    let all = links(&main);
    let without_3: Vec<_> = all.iter().filter(|l| l.version != 3).cloned().collect();
    assert_eq!(
        kind(main[3].check_extends(&main[0], &without_3)),
        FailureKind::Forked
    );
    // A link that does not read as 32 bytes is missing; read, the same links pass.
    assert!(main[3].check_extends(&main[0], &all).is_ok());
    for unreadable in ["not base64!", "AAAA"] {
        let mut garbled = all.clone();
        for link in garbled.iter_mut().filter(|l| l.version == 3) {
            link.link = unreadable.to_owned();
        }
        assert_eq!(
            kind(main[3].check_extends(&main[0], &garbled)),
            FailureKind::Forked
        );
    }
    let looped = [DigestLink {
        version: 3,
        prev: 3,
        link: BASE64.encode([0; 32]),
    }];
    assert_eq!(
        kind(main[3].check_extends(&main[0], &looped)),
        FailureKind::Forked
    );
}

#[test]
fn a_digest_from_before_chains_checks_nothing_and_one_after_must_carry_its_history() {
    let codec = test_codec();
    let main = history(&codec, &OwnerDigest::default(), 2, 100);
    let mut unchained = main[0].clone();
    unchained.chain = None;
    main[1].check_extends(&unchained, &[]).unwrap();
    let mut shown = main[1].clone();
    shown.chain = None;
    assert_eq!(
        kind(shown.check_extends(&main[0], &[])),
        FailureKind::Forked
    );
    // A digest written on an unchained one chains from it.
    let next = history(&codec, &unchained, 1, 300);
    assert_eq!(next[0].link().unwrap().prev, 1);
}

#[test]
fn the_link_binds_the_body_and_the_knowledge_base() {
    let codec = test_codec();
    let first = history(&codec, &OwnerDigest::default(), 1, 100);
    let other = history(&codec, &OwnerDigest::default(), 1, 101);
    assert_ne!(first[0].link().unwrap().link, other[0].link().unwrap().link);
    let keys = codec.keys().unwrap();
    let mut elsewhere = first[0].clone();
    elsewhere
        .chain_onto(keys, "kb-2", &OwnerDigest::default())
        .unwrap();
    assert_ne!(elsewhere.link(), first[0].link());
}

#[test]
fn another_digest_under_the_number_seen_is_a_fork_and_a_rebuild_over_it_waits_for_the_owner() {
    let codec = test_codec();
    let main = history(&codec, &OwnerDigest::default(), 2, 100);
    // Restored to version 1, and another machine's own version 2 written on it.
    let branch = history(&codec, &main[0], 1, 200);
    let keys = codec.keys().unwrap();
    let (seen, shown) = (
        main[1].seal(keys, "kb").unwrap(),
        branch[0].seal(keys, "kb").unwrap(),
    );
    let refused = |result: Result<OwnerDigest>| match result {
        Err(Error::AnswerRejected(rejection)) => rejection.failures[0].kind,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let opened = codec.open_digest(2, Some(&shown), Some((2, seen.as_str())));
    assert_eq!(refused(opened), FailureKind::Forked);
    // The same version sealed twice (a seal's nonce differs) is no fork, but not the bytes
    // this owner kept: refused as before.
    let again = main[1].seal(keys, "kb").unwrap();
    let opened = codec.open_digest(2, Some(&again), Some((2, seen.as_str())));
    assert_eq!(refused(opened), FailureKind::DigestMismatch);
    // A rebuild over the other version 2 takes that branch only when the owner says so.
    let plan = codec.plan_rebuild(
        2,
        Some(&shown),
        Some((2, seen.as_str())),
        &[],
        None,
        false,
        false,
    );
    match plan {
        Err(Error::AnswerRejected(rejection)) => {
            assert_eq!(rejection.failures[0].kind, FailureKind::Forked);
            assert!(
                rejection.to_string().contains("--after-rollback"),
                "{rejection}"
            );
        }
        other => panic!("a rebuild over a fork was not refused: {other:?}"),
    }
    let plan = codec.plan_rebuild(
        2,
        Some(&shown),
        Some((2, seen.as_str())),
        &[],
        None,
        false,
        true,
    );
    assert_eq!(plan.unwrap().version, 3);
    // Over the very digest seen, a rebuild needs no flag.
    let plan = codec.plan_rebuild(
        2,
        Some(&seen),
        Some((2, seen.as_str())),
        &[],
        None,
        false,
        false,
    );
    assert_eq!(plan.unwrap().version, 3);
}

#[test]
fn a_rebuild_refuses_a_noted_rollback_an_unopenable_digest_and_an_uncountable_field() {
    let codec = test_codec();
    let change = DigestChange {
        added: vec![((1, RecordNonce(5)), None)],
        ..DigestChange::default()
    };
    let (first, sealed_1) = codec.next_digest(&OwnerDigest::default(), &change).unwrap();
    let (_, sealed_2) = codec.next_digest(&first, &change).unwrap();
    let kind = |result: Result<crate::verifiable::DigestRebuild>| match result {
        Err(Error::AnswerRejected(rejection)) => rejection.failures[0].kind,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let seen = Some((2, sealed_2.as_str()));
    // The service shows the very digest seen, but a rollback was noted: refused until the
    // owner says so.
    let noted = codec.plan_rebuild(2, Some(&sealed_2), seen, &[], None, true, false);
    assert_eq!(kind(noted), FailureKind::RolledBack);
    let taken = codec.plan_rebuild(2, Some(&sealed_2), seen, &[], None, true, true);
    assert_eq!(taken.unwrap().version, 3);
    // Bytes that do not open, under a later version: refused, not skipped.
    for bytes in [Some(sealed_1.as_str()), Some("not a digest"), None] {
        let plan = codec.plan_rebuild(7, bytes, seen, &[], None, false, false);
        assert_eq!(kind(plan), FailureKind::DigestMismatch);
        let plan = codec.plan_rebuild(7, bytes, seen, &[], None, false, true);
        assert_eq!(plan.unwrap().version, 8);
    }
    // Only a field a filter selects whole values of is counted.
    for field in ["facets", "owner", "tag1 "] {
        let plan = codec.plan_rebuild(2, Some(&sealed_2), seen, &[], Some(field), false, false);
        assert!(
            matches!(plan, Err(Error::InvalidParameter(_))),
            "{field}: {plan:?}"
        );
    }
    let plan = codec.plan_rebuild(2, Some(&sealed_2), seen, &[], Some("tag1"), false, false);
    assert_eq!(plan.unwrap().counted_field(), Some("tag1"));
}

#[test]
fn a_digest_a_newer_version_wrote_is_read_by_no_check_and_replaced_by_no_rebuild() {
    let codec = test_codec();
    let change = DigestChange {
        added: vec![((1, RecordNonce(5)), None)],
        ..DigestChange::default()
    };
    let (first, sealed_1) = codec.next_digest(&OwnerDigest::default(), &change).unwrap();
    let (second, _) = codec.next_digest(&first, &change).unwrap();
    let (_, sealed_3) = codec.next_digest(&second, &change).unwrap();
    let keys = codec.keys().unwrap();
    let newer = crate::verifiable::digest::owner::seal_as_newer(&second, keys, codec.kb());
    let newer_kind =
        |result: Result<()>| assert!(matches!(result, Err(Error::NewerFormat(_))), "{result:?}");
    // Stored by the service as the later version, or kept as the version seen.
    newer_kind(
        codec
            .open_digest(2, Some(&newer), Some((1, &sealed_1)))
            .map(|_| ()),
    );
    newer_kind(
        codec
            .open_digest(3, Some(&sealed_3), Some((2, &newer)))
            .map(|_| ()),
    );
    for after_rollback in [false, true] {
        let stored = codec.plan_rebuild(2, Some(&newer), None, &[], None, false, after_rollback);
        newer_kind(stored.map(|_| ()));
        let seen = codec.plan_rebuild(
            3,
            Some(&sealed_3),
            Some((2, &newer)),
            &[],
            None,
            false,
            after_rollback,
        );
        newer_kind(seen.map(|_| ()));
    }
}
