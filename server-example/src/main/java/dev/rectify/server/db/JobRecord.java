package dev.rectify.server.db;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.data.annotation.Id;
import io.micronaut.data.annotation.MappedEntity;

/** A row of rf_jobs; {@code status} holds a JobStatus by its wire name. */
@MappedEntity("rf_jobs")
public class JobRecord {
    @Id
    private String id;

    private long seq;
    private String model;
    private String trainingFile;

    @Nullable
    private String validationFile;

    private String status;
    private String methodType;
    private String hyperparameters;
    private long seed;

    @Nullable
    private String suffix;

    @Nullable
    private String fineTunedModel;

    private long createdAt;

    @Nullable
    private Long startedAt;

    @Nullable
    private Long finishedAt;

    @Nullable
    private String errorCode;

    @Nullable
    private String errorMessage;

    @Nullable
    private String errorParam;

    @Nullable
    private Long trainedTokens;

    @Nullable
    private Integer lastStep;

    @Nullable
    private Integer totalSteps;

    private boolean cancelRequested;

    @Nullable
    private String fingerprint;

    @Nullable
    private String metadata;

    @Nullable
    private String resultFiles;

    @Nullable
    private Long estimatedFinish;

    private boolean pauseRequested;

    public String getId() {
        return id;
    }

    public void setId(String id) {
        this.id = id;
    }

    public long getSeq() {
        return seq;
    }

    public void setSeq(long seq) {
        this.seq = seq;
    }

    public String getModel() {
        return model;
    }

    public void setModel(String model) {
        this.model = model;
    }

    public String getTrainingFile() {
        return trainingFile;
    }

    public void setTrainingFile(String trainingFile) {
        this.trainingFile = trainingFile;
    }

    @Nullable
    public String getValidationFile() {
        return validationFile;
    }

    public void setValidationFile(@Nullable String validationFile) {
        this.validationFile = validationFile;
    }

    public String getStatus() {
        return status;
    }

    public void setStatus(String status) {
        this.status = status;
    }

    public String getMethodType() {
        return methodType;
    }

    public void setMethodType(String methodType) {
        this.methodType = methodType;
    }

    public String getHyperparameters() {
        return hyperparameters;
    }

    public void setHyperparameters(String hyperparameters) {
        this.hyperparameters = hyperparameters;
    }

    public long getSeed() {
        return seed;
    }

    public void setSeed(long seed) {
        this.seed = seed;
    }

    @Nullable
    public String getSuffix() {
        return suffix;
    }

    public void setSuffix(@Nullable String suffix) {
        this.suffix = suffix;
    }

    @Nullable
    public String getFineTunedModel() {
        return fineTunedModel;
    }

    public void setFineTunedModel(@Nullable String fineTunedModel) {
        this.fineTunedModel = fineTunedModel;
    }

    public long getCreatedAt() {
        return createdAt;
    }

    public void setCreatedAt(long createdAt) {
        this.createdAt = createdAt;
    }

    @Nullable
    public Long getStartedAt() {
        return startedAt;
    }

    public void setStartedAt(@Nullable Long startedAt) {
        this.startedAt = startedAt;
    }

    @Nullable
    public Long getFinishedAt() {
        return finishedAt;
    }

    public void setFinishedAt(@Nullable Long finishedAt) {
        this.finishedAt = finishedAt;
    }

    @Nullable
    public String getErrorCode() {
        return errorCode;
    }

    public void setErrorCode(@Nullable String errorCode) {
        this.errorCode = errorCode;
    }

    @Nullable
    public String getErrorMessage() {
        return errorMessage;
    }

    public void setErrorMessage(@Nullable String errorMessage) {
        this.errorMessage = errorMessage;
    }

    @Nullable
    public String getErrorParam() {
        return errorParam;
    }

    public void setErrorParam(@Nullable String errorParam) {
        this.errorParam = errorParam;
    }

    @Nullable
    public Long getTrainedTokens() {
        return trainedTokens;
    }

    public void setTrainedTokens(@Nullable Long trainedTokens) {
        this.trainedTokens = trainedTokens;
    }

    @Nullable
    public Integer getLastStep() {
        return lastStep;
    }

    public void setLastStep(@Nullable Integer lastStep) {
        this.lastStep = lastStep;
    }

    @Nullable
    public Integer getTotalSteps() {
        return totalSteps;
    }

    public void setTotalSteps(@Nullable Integer totalSteps) {
        this.totalSteps = totalSteps;
    }

    public boolean isCancelRequested() {
        return cancelRequested;
    }

    public void setCancelRequested(boolean cancelRequested) {
        this.cancelRequested = cancelRequested;
    }
    /** The SDK job service's fingerprint of the job's inputs, once it has started. */
    @Nullable
    public String getFingerprint() {
        return fingerprint;
    }

    public void setFingerprint(@Nullable String fingerprint) {
        this.fingerprint = fingerprint;
    }
    /** The request's metadata as a JSON object, or null. */
    @Nullable
    public String getMetadata() {
        return metadata;
    }

    public void setMetadata(@Nullable String metadata) {
        this.metadata = metadata;
    }
    /** Ids of the job's result files (the metrics CSV), comma separated, or null. */
    @Nullable
    public String getResultFiles() {
        return resultFiles;
    }

    public void setResultFiles(@Nullable String resultFiles) {
        this.resultFiles = resultFiles;
    }
    /** When the running job should finish (epoch milliseconds), from the trainer's estimate; null when not running. */
    @Nullable
    public Long getEstimatedFinish() {
        return estimatedFinish;
    }

    public void setEstimatedFinish(@Nullable Long estimatedFinish) {
        this.estimatedFinish = estimatedFinish;
    }
    /** Whether the job was asked to pause (its worker stops it at a checkpoint and marks it paused). */
    public boolean isPauseRequested() {
        return pauseRequested;
    }

    public void setPauseRequested(boolean pauseRequested) {
        this.pauseRequested = pauseRequested;
    }
}
