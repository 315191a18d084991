//! Metrics (precision, recall, accuracy, F1, ROC, AUC, EER), score normalisation, plots
