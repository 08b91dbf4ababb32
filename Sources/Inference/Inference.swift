// Inference module. Placeholder until the module's owner fills it in.
public enum InferenceModule {}
