//! The data the train tests share: real daily ETH/USDT candles.

use std::path::Path;

use quantsweep_features::{
    Dataset, FeatureConfig, FeatureTable, Scale, SplitConfig, TargetConfig, WindowConfig,
};

/// 2020-01-01 .. 2021-12-31 of the bundled daily ETH/USDT file (a short span keeps the tests
/// quick), windows of `input_bars` bars of close ratio, RSI(14) and MACD line and signal,
/// standardized on the training span; the default split.
pub fn dataset_for(target: &TargetConfig, input_bars: usize) -> Dataset {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/eth-usdt-1d.csv");
    let (candles, _) =
        quantsweep_ingest::load(path, &Default::default()).expect("bundled data loads");
    let candles = candles.between(Some(1_577_836_800_000), Some(1_640_995_200_000));
    let features = [
        FeatureConfig::new("close_ratio"),
        FeatureConfig::new("rsi").with("period", 14.0),
        FeatureConfig::new("macd").named("macd"),
    ];
    let table = FeatureTable::build(&candles, &features).expect("features");
    let window = WindowConfig {
        input_bars,
        inputs: Some(vec![
            "close_ratio".into(),
            "rsi_14".into(),
            "macd.macd".into(),
            "macd.signal".into(),
        ]),
        scale: Scale::Standard,
        ..Default::default()
    };
    Dataset::build(&candles, &table, &window, target, &SplitConfig::default()).expect("dataset")
}
