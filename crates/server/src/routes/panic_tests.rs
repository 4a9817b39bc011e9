//! A panicking handler, or a panic in work on the blocking pool, answers 500 and is logged once.

use axum::body::Body;
use axum::http::StatusCode;
use tower::ServiceExt;

use super::*;
use crate::test_log;

#[tokio::test]
async fn a_panicking_handler_answers_500_and_is_logged_once() {
    test_log::install();
    let app: Router = Router::new()
        .route(
            "/boom",
            get(|| async {
                if true {
                    panic!("a handler's panic (routes test)");
                }
                "never"
            }),
        )
        .layer(CatchPanicLayer::custom(panicked));
    let request = Request::builder()
        .uri("/boom")
        .body(Body::empty())
        .expect("a request");
    let response = app.oneshot(request).await.expect("an answer");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(test_log::count("a handler's panic (routes test)"), 1);
}

#[tokio::test]
async fn a_panic_on_the_blocking_pool_answers_500_and_is_logged_once() {
    test_log::install();
    let error = blocking(|| -> ApiResult<()> { panic!("a pool's panic (routes test)") })
        .await
        .expect_err("the work panicked");
    assert!(matches!(error, ApiError::Panicked(_)));
    let response = error.into_response();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(test_log::count("a pool's panic (routes test)"), 1);
}
